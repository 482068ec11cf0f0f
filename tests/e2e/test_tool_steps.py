"""Tool steps on the chat page in a real browser (local stack, scripted model calling current_time)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from local_stack.bedrock_runtime import ScriptedToolCall
from tests.e2e.conftest import shot
from tests.e2e.test_chat_page import send, wait_answered

pytestmark = pytest.mark.e2e


def tool_then(answer_text: str, cue: str) -> Any:
    """A model that calls current_time for Tokyo when `cue` is asked, then answers `answer_text`."""
    state = {"called": False, "answered": False}

    def reply_for(text: str) -> Any:
        if cue in text and not state["called"]:
            state["called"] = True
            return ["Let me check.", ScriptedToolCall("current_time", {"timezone": "Asia/Tokyo"})]
        if state["called"] and not state["answered"]:
            state["answered"] = True
            return answer_text
        return None

    return reply_for


def test_a_tool_step_shows_as_a_compact_expandable_step_and_after_reload(page: Any, model: Any) -> None:
    # Given a model that uses current_time to answer
    model.reply_for = tool_then("It is evening in Tokyo.", "tokyo time")
    page.goto("/")
    # When the question is sent
    answer = send(page, "tokyo time please")
    wait_answered(answer)
    # Then the answer shows the step in one line, expandable to its input and result
    step = answer.locator("details.tool-step")
    expect(step).to_have_count(1)
    expect(step.locator("summary")).to_have_text(
        re.compile(r"^Used current_time — Asia/Tokyo → .*Asia/Tokyo")
    )
    step.locator("summary").click()
    expect(step.locator("pre").first).to_contain_text('"timezone": "Asia/Tokyo"')
    expect(answer.locator(".markdown")).to_contain_text("It is evening in Tokyo.")
    shot(page, "tool-step-expanded")
    # And after a reload the stored step is shown on the same answer
    page.reload()
    stored = page.locator(".msg.assistant").last
    expect(stored.locator("details.tool-step summary")).to_have_text(
        re.compile(r"^Used current_time — Asia/Tokyo")
    )
    expect(page.locator(".msg.assistant")).to_have_count(1)


def test_stop_during_a_tool_turn_keeps_the_step_and_marks_the_answer_stopped(page: Any, model: Any) -> None:
    # Given a model that calls a tool, then talks for a long time
    model.reply_for = tool_then(" ".join(f"tok{i}" for i in range(2000)), "slow tokyo")
    model.set_delay(0.03)
    page.goto("/")
    answer = send(page, "slow tokyo please")
    expect(answer.locator("details.tool-step summary")).to_contain_text("Used current_time")
    expect(answer.locator(".markdown")).to_contain_text("tok5")
    # When Stop is pressed
    page.get_by_role("button", name="Stop").click()
    wait_answered(answer, timeout=5_000)
    expect(answer.locator(".answer-note")).to_have_text("Stopped.")
    # Then after a reload the tool step is kept and the answer is marked stopped
    page.reload()
    stored = page.locator(".msg.assistant").last
    expect(stored.locator("details.tool-step")).to_have_count(1)
    expect(stored.locator(".answer-note")).to_have_text("Stopped before the end.")


def test_tools_are_toggled_in_conversation_settings(page: Any, model: Any) -> None:
    page.goto("/")
    page.locator(".settings-toggle").click()
    box = page.get_by_role("checkbox", name=re.compile("calculator", re.I))
    expect(box).to_be_checked()  # the built-ins are on by default
    box.uncheck()
    answer = send(page, "no tools now")
    wait_answered(answer)
    # Then the new conversation keeps the choice (stored with its first turn), across a reload
    expect(page).to_have_url(re.compile(r"#/c/[0-9a-z]{26}$"))
    page.reload()
    page.locator(".settings-toggle").click()
    expect(page.get_by_role("checkbox", name=re.compile("calculator", re.I))).not_to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("current.time", re.I))).to_be_checked()


def test_a_model_offered_no_tools_by_default_shows_them_unchecked(page: Any, model: Any) -> None:
    # Given GET /models saying the chosen model is offered no tools by default (as the embedded
    # SmolLM2's profile says: tools derail a model that small)
    def no_default_tools(route: Any) -> None:
        body = route.fetch().json()
        for listed in body["models"]:
            if listed.get("limits"):
                listed["limits"]["toolsByDefault"] = False
        route.fulfill(json=body)

    page.route(re.compile(r".*/api/models$"), no_default_tools)
    page.goto("/")
    # When the settings of a new conversation are opened
    page.locator(".settings-toggle").click()
    # Then the tools are listed and none is checked (what the server will offer it: none)
    box = page.get_by_role("checkbox", name=re.compile("calculator", re.I))
    expect(box).to_be_visible()
    expect(box).not_to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("current.time", re.I))).not_to_be_checked()
