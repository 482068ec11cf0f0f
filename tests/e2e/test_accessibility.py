"""Automated accessibility checks (axe-core from web_client's npm dev dependencies) on the main states.

axe cannot judge everything (reading order, wording), but it does catch missing labels, bad
ARIA, and text below WCAG AA contrast, in both the desktop and the phone layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import REPO, shot

pytestmark = pytest.mark.e2e

AXE = REPO / "web_client" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through DevTools, not a <script> tag: the page's CSP rightly refuses inline scripts.
        page.evaluate("() => {" + AXE.read_text() + "\n}")
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => `${v.id}: ${v.help} -> ${v.nodes.map(n => n.target.join(' ')).slice(0, 4).join(' | ')}`)",
        TAGS,
    )
    return list(result)


@pytest.fixture(scope="module")
def axe_source() -> Path:
    if not AXE.exists():
        pytest.fail("web_client/node_modules/axe-core is missing: run `make web` (npm ci installs it)")
    return AXE


def test_main_states_have_no_wcag_aa_violations(page: Any, model: Any, axe_source: Path) -> None:
    model.reply_for = lambda text: (
        "Here is `inline code`, a [link](https://example.com) and:\n\n```python\nprint('hi')  # comment\n```"
        if "a11y" in text
        else None
    )
    page.goto("/")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    assert axe_violations(page) == [], "empty chat"

    box = page.get_by_role("textbox", name="Message")
    box.fill("a11y check please")
    box.press("Enter")
    expect(page.locator(".msg.assistant .code-block")).to_be_visible()
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    assert axe_violations(page) == [], "conversation with an answer"

    page.get_by_role("button", name="Model and instructions: Scripted test model").click()
    expect(page.get_by_label("System prompt")).to_be_visible()
    assert axe_violations(page) == [], "settings open"

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Open conversation list").click()
    page.wait_for_timeout(300)
    assert axe_violations(page) == [], "phone with the drawer open"
    shot(page, "a11y-phone-drawer")

    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1280, "height": 820})
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == [], "dark colour scheme"
    shot(page, "a11y-dark")


def test_keyboard_alone_reaches_the_controls_in_a_sensible_order(page: Any, model: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    # From the top of the page: skip link first, then the sidebar, then the header, then the composer.
    start_at_top = (
        "document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex')"
    )
    page.evaluate(start_at_top)
    order = []
    for _ in range(18):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.getAttribute('aria-label') || e.textContent.trim() || e.id || e.tagName; })()"
            )
        )
    assert order[0] == "Skip to the message box"
    assert (
        order.index("New chat")
        < order.index("Search conversations")
        < order.index("Compare models")
        < order.index("Model and instructions: Scripted test model")
        < order.index("Attach a document or images")
    )
    assert (
        order.index("Attach a document or images")
        < order.index("Saved prompts")
        < order.index("composer-input")
    )
    # The skip link lands in the message box.
    page.evaluate(start_at_top)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
