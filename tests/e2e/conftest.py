"""End-to-end fixtures: the whole local stack on 127.0.0.1 with a scripted model, and Debian's chromium.

One stack serves the module's tests (start-up is the slow part); tests tune the scripted model
through `model` (reply script and per-token delay) and leave it as they found it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPTED_MODEL = "local.scripted"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: `make e2e-deps` (part of `make test`) installs it"
    )
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(skip)


@dataclass
class ModelScript:
    """What the scripted model answers; a test sets `reply_for` / `token_delay` and they are reset after."""

    reply_for: Callable[[str], str | None] | None = None
    seen: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    engine: Any = None

    def set_delay(self, seconds: float) -> None:
        """Seconds the model sleeps before each word it streams."""
        self.engine.token_delay = seconds

    def reply(self, request: dict[str, Any]) -> str:
        text = request["prompt"].last_user_text
        self.seen.append(text)
        self.systems.append(request["prompt"].system)
        custom = self.reply_for(text) if self.reply_for else None
        return custom if custom is not None else f"echo: {text}"


@pytest.fixture(scope="session")
def web_build() -> Path:
    """The built client; built here when a plain `pytest` run comes before `make web`."""
    dist = REPO / "web_client" / "dist"
    if not (dist / "index.html").exists():
        make = shutil.which("make")
        assert make, "web_client/dist is missing and make is not installed: run `make web`"
        subprocess.run([make, "-C", str(REPO), "web"], check=True, timeout=300)
    return dist


@pytest.fixture(scope="module")
def script() -> ModelScript:
    return ModelScript()


@pytest.fixture(scope="module")
def stack(web_build: Path, script: ModelScript, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from local_stack.bedrock_runtime import ScriptedEngine
    from local_stack.runner import LocalStack

    engine = ScriptedEngine(model_id=SCRIPTED_MODEL, reply=script.reply)
    state_dir = tmp_path_factory.mktemp("e2e-stack")
    with LocalStack(port=0, state_dir=state_dir, engines=[engine], persist=False) as running:
        script.engine = engine
        yield running


@pytest.fixture
def model(stack: Any, script: ModelScript) -> Iterator[ModelScript]:
    """The scripted model, reset to a fast echo after each test."""
    yield script
    script.reply_for = None
    script.set_delay(0.0)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class PageWatch:
    """Side effects a page must not have: dialogs, uncaught errors, console errors."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Any, stack: Any, watch: PageWatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context on the stack's URL; a screenshot of the final state is always saved."""
    context = browser.new_context(viewport={"width": 1280, "height": 820}, base_url=stack.url)
    context.set_default_timeout(15_000)
    # Nothing but the stack: any request that leaves 127.0.0.1 fails the test.
    stray: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/", url) or url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            stray.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda err: watch.page_errors.append(str(err)))

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    pg.on("console", on_console)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert not stray, f"the page tried to leave 127.0.0.1: {stray}"


def shot(page: Any, name: str) -> None:
    """A screenshot of an intermediate state, next to the per-test final ones."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
