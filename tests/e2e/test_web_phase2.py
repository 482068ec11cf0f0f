"""Regenerate, edit and resend, feedback, search, saved prompts and images in history, in Debian's
chromium against the real local stack (scripted model), with reloads and at phone width.
Given/When/Then."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageWatch, shot
from tests.e2e.test_accessibility import axe_violations
from tests.e2e.test_chat_page import message_box, send, wait_answered

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def numbered_answers(model: Any) -> None:
    counter = itertools.count(1)
    model.reply_for = lambda text: f"take {next(counter)} on {text}"


def test_regenerate_keeps_versions_across_a_reload_at_phone_width(
    page: Any, model: Any, watch: PageWatch
) -> None:
    # Given an answered question, on a phone
    numbered_answers(model)
    page.set_viewport_size(PHONE)
    page.goto("/")
    answer = send(page, "name a colour")
    wait_answered(answer)
    expect(answer).to_contain_text("take 1 on name a colour")

    # When the answer is regenerated
    answer.get_by_role("button", name="Regenerate").click()
    expect(answer).to_contain_text("take 2 on name a colour")
    expect(answer).to_contain_text("2 / 2")

    # Then after a reload both versions are still there, the newest shown, the first browsable
    page.reload()
    answer = page.locator(".msg.assistant").last
    expect(answer).to_contain_text("take 2 on name a colour")
    expect(answer).to_contain_text("2 / 2")
    answer.get_by_role("button", name="Previous answer").click()
    expect(answer).to_contain_text("take 1 on name a colour")
    expect(answer).to_contain_text("1 / 2")
    assert axe_violations(page) == [], "versions on a phone"
    shot(page, "regenerate-versions-phone")
    assert not watch.page_errors


def test_edit_and_resend_continues_from_the_edited_message(page: Any, model: Any) -> None:
    # Given two turns
    page.goto("/")
    wait_answered(send(page, "first question"))
    wait_answered(send(page, "second question"))
    page.reload()
    expect(page.locator(".msg.assistant")).to_have_count(2)

    # When the first question is edited and sent again
    first = page.locator(".msg.user").first
    first.hover()
    first.get_by_role("button", name="Edit message").click()
    box = first.get_by_role("textbox")
    box.fill("better first question")
    box.press("Enter")

    # Then the conversation continues from the edited text; what followed leaves the thread
    answers = page.locator(".msg.assistant")
    expect(answers).to_have_count(1)
    wait_answered(answers.first)
    expect(answers.first).to_contain_text("echo: better first question")
    assert model.seen[-1] == "better first question"
    page.reload()
    expect(page.locator(".msg.user")).to_have_count(1)
    expect(page.locator(".msg.user").first).to_contain_text("better first question")
    shot(page, "edited")


def test_feedback_is_kept_after_a_reload(page: Any, model: Any) -> None:
    page.goto("/")
    answer = send(page, "rate me")
    wait_answered(answer)
    page.reload()
    answer = page.locator(".msg.assistant").first
    answer.get_by_role("button", name="Good answer").click()
    expect(answer.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)
    page.reload()
    expect(page.locator(".msg.assistant").first.get_by_role("button", name="Good answer")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_search_finds_message_text_and_opens_the_conversation(page: Any, model: Any) -> None:
    # Given two conversations, one mentioning a rare word in its second message
    page.goto("/")
    wait_answered(send(page, "hello there"))
    wait_answered(send(page, "tell me about the zanzibar archipelago"))
    page.get_by_role("button", name="New chat").first.click()
    wait_answered(send(page, "something else"))

    # When the word is searched
    search = page.get_by_role("searchbox", name="Search conversations")
    search.fill("ZANZIBAR")

    # Then one conversation is found, with the matching text, and opening it shows it
    results = page.get_by_role("list", name="Search results")
    expect(results.get_by_role("link")).not_to_have_count(0)
    expect(results).to_contain_text("zanzibar")
    results.get_by_role("link").first.click()
    expect(page.locator(".msg.user").last).to_contain_text("zanzibar archipelago")
    assert axe_violations(page) == [], "search results"
    shot(page, "search-results")
    search.fill("")
    expect(page.get_by_role("list", name="Search results")).to_have_count(0)


def test_saved_prompts_insert_and_start_a_new_chat(page: Any, model: Any) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/")
    # Given a saved prompt
    page.get_by_role("button", name="Saved prompts").click()
    dialog = page.get_by_role("dialog", name="Saved prompts")
    dialog.get_by_label("Title").fill("Pirate")
    dialog.get_by_label("Prompt", exact=True).fill("Answer like a pirate.")
    dialog.get_by_role("button", name="Save prompt").click()
    expect(dialog.get_by_role("list", name="Your saved prompts")).to_contain_text("Pirate")
    assert axe_violations(page) == [], "saved prompts dialog on a phone"
    shot(page, "saved-prompts-phone")

    # When it is inserted, the composer holds it
    dialog.get_by_role("button", name="Insert: Pirate").click()
    expect(message_box(page)).to_have_value("Answer like a pirate.")

    # When a new chat starts from it, the first turn is sent with it as the system prompt
    message_box(page).fill("")
    page.reload()
    page.get_by_role("button", name="Saved prompts").click()
    dialog = page.get_by_role("dialog", name="Saved prompts")
    dialog.get_by_role("button", name="New chat with it: Pirate").click()
    wait_answered(send(page, "hello"))
    assert model.systems[-1] == "Answer like a pirate."


def test_images_show_as_thumbnails_after_a_reload(page: Any, model: Any, tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "green.png"
    Image.new("RGB", (40, 30), (20, 160, 60)).save(png)
    page.set_viewport_size(PHONE)
    page.goto("/")
    page.locator("#file-input").set_input_files(str(png))
    expect(page.locator('.tray-item[data-status="ready"]')).to_have_count(1, timeout=20_000)
    message_box(page).fill("what colour?")
    message_box(page).press("Enter")
    wait_answered(page.locator(".msg.assistant").first)

    page.reload()
    link = page.get_by_role("link", name=re.compile("View full size: green.png"))
    expect(link).to_be_visible()
    assert "X-Amz-Signature=" in (link.get_attribute("href") or "")
    thumb = link.locator("img")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") == 40
    assert axe_violations(page) == [], "image thumbnails after reload"
    shot(page, "image-thumbnail-after-reload-phone")
