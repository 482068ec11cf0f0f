"""The page's newer features in a real browser against the local stack (scripted model):
math and diagrams (and their hostile forms), date groups, Korean, Continue, starter prompts,
model names that are never clipped. Given/When/Then."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PageWatch, shot
from tests.e2e.test_accessibility import axe_violations
from tests.e2e.test_chat_page import send, wait_answered

pytestmark = pytest.mark.e2e

MATH_AND_DIAGRAM = (
    "Pythagoras: $a^2 + b^2 = c^2$ holds.\n\n"
    "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$\n\n"
    "```mermaid\ngraph TD\n  Start[Ask] --> Answer[Reply]\n```\n"
)

HOSTILE = (
    "Links: $\\href{javascript:window.__pwned=1}{click}$ and $\\url{javascript:window.__pwned=2}$ "
    "and $\\htmlId{pwn}{x}$ and $\\htmlStyle{background:url(https://evil.test/x)}{y}$.\n\n"
    "```mermaid\n%%{init: {'securityLevel': 'loose', 'themeCSS': 'svg{background:url(https://evil.test/c)}'}}%%\n"
    "graph TD\n  A[Trap] --> B[<img src=x onerror=window.__pwned=3>]\n"
    '  click A callback "window.__pwned=4"\n  click B href "javascript:window.__pwned=5"\n```\n'
)


def chunk_bytes(page: Any) -> dict[str, int]:
    """Split-off chunks the page has downloaded so far, with their decoded sizes."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/chunks/'))"
        ".map(e => [e.name, e.decodedBodySize])"
    )
    return dict(entries)


def test_math_and_diagrams_render_and_mermaid_loads_only_when_needed(
    page: Any, model: Any, watch: PageWatch
) -> None:
    model.reply_for = lambda text: MATH_AND_DIAGRAM if "math please" in text else None
    page.goto("/")

    # Given an ordinary answer, Mermaid's code is not downloaded (only small shared chunks are)
    wait_answered(send(page, "plain please"))
    before = chunk_bytes(page)
    assert sum(before.values()) < 200_000, f"too much code at start-up: {before}"

    # When an answer has inline and display math and a mermaid block
    answer = send(page, "math please")
    wait_answered(answer)

    # Then the math is MathML from KaTeX (inline and block), and the diagram is an SVG
    expect(answer.locator(".katex math")).to_have_count(2)
    expect(answer.locator('.katex math[display="block"]')).to_have_count(1)
    expect(answer.locator(".diagram.drawn svg")).to_have_count(1, timeout=20_000)
    expect(answer.locator(".diagram svg")).to_contain_text("Ask")
    after = chunk_bytes(page)
    loaded = sum(size for url, size in after.items() if url not in before)
    assert loaded > 400_000, f"the diagram should have loaded Mermaid ({loaded} bytes of new chunks)"
    print(f"chunks: {sum(before.values())} bytes at start-up, {loaded} bytes for a flowchart")
    # and the strict CSP held: nothing was refused or thrown
    assert [e for e in watch.console_errors if "Content Security Policy" in e] == []
    assert watch.page_errors == []
    assert axe_violations(page) == [], "answer with math and a diagram"
    shot(page, "math-and-diagram")

    # and after a reload, the stored answer renders the same way
    page.reload()
    stored = page.locator(".msg.assistant").last
    expect(stored.locator(".katex math")).to_have_count(2)
    expect(stored.locator(".diagram.drawn svg")).to_have_count(1, timeout=20_000)


def test_hostile_latex_and_mermaid_stay_inert(page: Any, model: Any, watch: PageWatch) -> None:
    model.reply_for = lambda text: HOSTILE if "hostile please" in text else None
    page.goto("/")

    # When the model answers with TeX links/HTML commands and a diagram with click callbacks
    answer = send(page, "hostile please")
    wait_answered(answer)
    diagram = answer.locator(".diagram")
    expect(diagram).to_have_class(re.compile(r"\b(drawn|failed)\b"), timeout=20_000)
    page.wait_for_timeout(300)

    # Then nothing links anywhere, nothing ran, and the diagram's nodes do nothing when clicked
    messages = page.locator("#messages")
    assert messages.locator("[href], [xlink\\:href]").count() == 0
    assert messages.locator("img, script, iframe, foreignObject").count() == 0
    assert page.locator("#pwn").count() == 0
    if "drawn" in (diagram.get_attribute("class") or ""):
        for node in diagram.locator("g.node").all():
            node.click(force=True)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert watch.dialogs == []
    assert watch.page_errors == []
    shot(page, "hostile-math-diagram")


def test_sidebar_groups_conversations_by_date(page: Any, model: Any) -> None:
    # Given one real conversation from today
    page.goto("/")
    wait_answered(send(page, "grouped today"))
    nav = page.get_by_role("navigation", name="Conversation history")
    today = nav.get_by_role("region", name="Today")
    expect(today.locator(".conv-name")).to_contain_text(["grouped today"])

    # When the list also holds older conversations (listing answered by the test)
    now = datetime.now(UTC)

    def listing(route: Any) -> None:
        real = route.fetch().json()
        older = [
            ("01aaaaaaaaaaaaaaaaaaaaaaa1", "From yesterday", now - timedelta(days=1)),
            ("01aaaaaaaaaaaaaaaaaaaaaaa2", "From last week", now - timedelta(days=4)),
            ("01aaaaaaaaaaaaaaaaaaaaaaa3", "From last year", now - timedelta(days=400)),
        ]
        items = real["items"] + [
            {
                "id": i,
                "title": t,
                "createdAt": d.isoformat(),
                "updatedAt": d.isoformat(),
                "model": None,
                "system": None,
            }
            for i, t, d in older
        ]
        route.fulfill(json={"items": items, "nextCursor": None})

    page.route(re.compile(r"/api/conversations\?"), listing)
    page.reload()

    # Then each is under its heading, in order
    expect(nav.locator(".conv-group-title")).to_have_text(["Today", "Yesterday", "Previous 7 days", "Older"])
    expect(nav.get_by_role("region", name="Older").locator(".conv-name")).to_have_text(["From last year"])
    shot(page, "sidebar-date-groups")


@pytest.fixture
def korean(browser: Any, stack: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844}, base_url=stack.url)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "korean-final.png"))
    context.close()


def test_a_korean_browser_gets_the_korean_page_and_the_switch_is_kept(korean: Any, model: Any) -> None:
    page = korean
    # Given a browser whose language is Korean, on a phone
    page.goto("/")

    # Then the page is in Korean, declared as such, and still passes the WCAG AA checks
    expect(page.get_by_role("textbox", name="메시지")).to_be_focused()
    expect(page.get_by_role("heading", name="무엇을 도와드릴까요?")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert axe_violations(page) == [], "Korean empty chat on a phone"
    shot(page, "korean-phone-empty")
    box = page.get_by_role("textbox", name="메시지")
    box.fill("안녕하세요")
    box.press("Enter")
    answer = page.locator(".msg.assistant").first
    wait_answered(answer)
    expect(answer.locator(".usage")).to_contain_text("토큰")
    page.get_by_role("button", name="대화 목록 열기").click()
    expect(page.get_by_role("region", name="오늘")).to_be_visible()
    page.wait_for_timeout(300)
    shot(page, "korean-phone-sidebar")
    page.keyboard.press("Escape")

    # When English is chosen in the settings
    page.get_by_role("button", name=re.compile("^모델 및 지침")).click()
    page.get_by_label("언어").select_option("en")

    # Then the page switches at once, keeps the conversation, and stays English after a reload
    expect(page.get_by_label("Language")).to_be_focused()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    expect(page.locator(".msg.user .user-text")).to_have_text(["안녕하세요"])
    page.reload()
    expect(page.get_by_role("button", name="Open conversation list")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_an_answer_cut_at_the_length_limit_can_be_continued(page: Any, model: Any) -> None:
    # Given a model that would say more than the output limit (1,024 tokens)
    long = " ".join(f"w{i}" for i in range(1100))
    model.reply_for = lambda text: long if "cut please" in text else None
    page.goto("/")

    # When it answers
    answer = send(page, "cut please")
    wait_answered(answer)

    # Then the answer says it was cut, and offers to continue
    expect(answer.locator(".answer-note")).to_have_text(re.compile("length limit"))
    cont = answer.get_by_role("button", name="Continue")
    expect(cont).to_be_visible()
    shot(page, "cut-answer")

    # When Continue is pressed
    cont.click()

    # Then a continuation turn is sent in the same conversation, and only the newest answer offers it
    follow = page.locator(".msg.assistant").nth(1)
    wait_answered(follow)
    assert model.seen[-1].startswith("Continue exactly where")
    expect(follow.locator(".markdown")).to_contain_text("echo: Continue")
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)


def test_starter_prompts_send_and_the_new_chat_note_goes_away(page: Any, model: Any) -> None:
    page.goto("/")
    # Given a new chat whose instructions are saved before the first message
    page.get_by_role("button", name=re.compile("^Model and instructions")).click()
    page.get_by_label("System prompt").fill("Be brief.")
    page.get_by_role("button", name="Save instructions").click()
    note = page.locator(".settings [role=status]")
    expect(note).to_have_text("Will apply to this new conversation.")

    # When a starter prompt is picked from the empty state
    starter = page.get_by_role("button", name="Explain how DNS works, in simple terms")
    starter.click()

    # Then it is sent as a message, and the note about a new conversation no longer shows
    answer = page.locator(".msg.assistant").first
    wait_answered(answer)
    expect(answer.locator(".markdown")).to_have_text("echo: Explain how DNS works, in simple terms")
    assert model.systems[-1].endswith("Be brief.") or "Be brief." in model.systems[-1]
    expect(note).to_have_text("")
    expect(page.locator(".empty-state")).to_have_count(0)


LONG_MODEL = "Anthropic Claude Sonnet 4.5 through a cross-region inference profile"


def test_model_names_are_never_clipped(page: Any, model: Any) -> None:
    # Given a model with a long name (the listing is answered by the test), on a phone
    def models(route: Any) -> None:
        real = route.fetch().json()
        real["models"] = [{**real["models"][0], "name": LONG_MODEL}, *real["models"][1:]]
        route.fulfill(body=json.dumps(real), content_type="application/json")

    page.route("**/api/models", models)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.goto("/")
        label = page.locator(".settings-toggle .settings-label")
        expect(label).to_have_text(LONG_MODEL)
        # Then all of it is visible: nothing overflows its box
        assert label.evaluate(
            "el => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight + 1"
        )
        toggle = page.locator(".settings-toggle")
        assert toggle.evaluate("el => el.scrollWidth <= el.clientWidth")
        shot(page, f"long-model-name-{width}")


def test_stored_answers_offer_feedback_and_the_newest_offers_regenerate(page: Any, model: Any) -> None:
    # Given two answered turns (phone width, after a reload: the actions come from stored ids)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    wait_answered(send(page, "first question"))
    wait_answered(send(page, "second question"))
    page.reload()
    answers = page.locator(".msg.assistant")
    expect(answers).to_have_count(2)

    # Then every answer has "Good answer" and "Bad answer" (not pressed), and only the newest "Regenerate"
    for answer in answers.all():
        expect(answer.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "false")
        expect(answer.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "false")
    expect(answers.first.get_by_role("button", name="Regenerate")).to_be_hidden()
    expect(answers.last.get_by_role("button", name="Regenerate")).to_be_visible()
    assert axe_violations(page) == [], "answers with their actions, on a phone"
    shot(page, "answer-actions-phone")
