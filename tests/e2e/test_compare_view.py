"""The compare view and inference settings in a real browser against the local stack (scripted
model): two lanes (one model at two temperatures) side by side on a desktop and as tabs on a
phone, a stop per lane and for all, per-lane cost, continue with this answer, and the
conversation's inference settings with their ranges. Given/When/Then; screenshots in
test-artifacts/e2e."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageWatch, shot
from tests.e2e.test_accessibility import axe_violations

pytestmark = pytest.mark.e2e

LONG = " ".join(f"w{i}" for i in range(60))


def lane(page: Any, index: int) -> Any:
    return page.locator(f"#lane-{index}")


def open_compare(page: Any) -> None:
    page.goto("/")
    page.get_by_role("button", name="Compare models").click()
    expect(page.locator("#compare")).to_be_visible()


def test_two_lanes_side_by_side_on_a_desktop_and_tabs_on_a_phone(
    page: Any, model: Any, watch: PageWatch
) -> None:
    # Given the compare view with its two default lanes (temperature 0.2 and 1)
    open_compare(page)
    expect(page.locator("#lane-1-temperature")).to_have_value("1")

    # When a question is compared
    page.locator("#compare-question").fill("Say something about rain.")
    page.get_by_role("button", name="Compare", exact=True).click()

    # Then both lanes answer, each with its settings, tokens and cost (local: $0)
    for index in (0, 1):
        expect(lane(page, index).locator(".lane-status")).to_have_text("Done")
        expect(lane(page, index).locator(".lane-text")).to_have_text("echo: Say something about rain.")
        expect(lane(page, index).locator(".usage")).to_contain_text("$0")
    expect(lane(page, 1).locator("h3")).to_contain_text("t=1")
    # Side by side: same top, the second to the right of the first
    first, second = lane(page, 0).bounding_box(), lane(page, 1).bounding_box()
    assert abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"] + first["width"] - 1
    shot(page, "compare-desktop")
    assert axe_violations(page) == []

    # When the page is as narrow as a phone
    page.set_viewport_size({"width": 390, "height": 844})
    # Then the lanes are tabs: one shown at a time, the other a tap away
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(2)
    expect(lane(page, 0)).to_be_visible()
    expect(lane(page, 1)).to_be_hidden()
    shot(page, "compare-phone-lane-1")
    tabs.nth(1).click()
    expect(lane(page, 1)).to_be_visible()
    expect(lane(page, 0)).to_be_hidden()
    shot(page, "compare-phone-lane-2")
    assert axe_violations(page) == []
    assert not watch.page_errors and not watch.console_errors


def test_a_follow_up_then_continue_with_one_answer(page: Any, model: Any) -> None:
    open_compare(page)
    page.locator("#compare-question").fill("first")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(lane(page, 1).locator(".lane-status")).to_have_text("Done")
    # A follow-up continues both lanes (the lanes are fixed now)
    expect(page.locator("#lane-0-model")).to_be_disabled()
    page.locator("#compare-question").fill("second")
    page.get_by_role("button", name="Follow up").click()
    expect(lane(page, 0).locator(".lane-text")).to_have_text("echo: second")
    expect(lane(page, 1).locator(".lane-status")).to_have_text("Done")
    # Continue with lane 2's answer: an ordinary conversation with both turns opens
    lane(page, 1).get_by_role("button", name="Continue with this answer").click()
    expect(page.locator("#compare")).to_be_hidden()
    expect(page.locator(".msg.assistant")).to_have_count(2)
    expect(page.locator(".msg.assistant").nth(1)).to_contain_text("echo: second")
    shot(page, "compare-continued")


def test_stop_one_lane_then_stop_all(page: Any, model: Any) -> None:
    # Given a model that takes a while
    model.reply_for = lambda text: LONG
    model.set_delay(0.05)
    open_compare(page)
    page.locator("#compare-question").fill("long please")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(lane(page, 1).locator(".lane-text")).to_contain_text("w2")

    # When lane 2 alone is stopped
    lane(page, 1).get_by_role("button", name="Stop lane 2").click()

    # Then it ends stopped within about a second, keeping what it said, and lane 1 finishes
    expect(lane(page, 1).locator(".lane-status")).to_have_text("Stopped", timeout=5_000)
    expect(lane(page, 0).locator(".lane-status")).to_have_text("Done", timeout=15_000)
    stopped = lane(page, 1).locator(".lane-text").inner_text()
    assert 0 < len(stopped.split()) < 60
    shot(page, "compare-lane-stopped")

    # When another comparison is stopped as a whole
    page.get_by_role("button", name="New comparison").click()
    page.locator("#compare-question").fill("long again")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(lane(page, 0).locator(".lane-text")).to_contain_text("w2")
    page.get_by_role("button", name="Stop all").click()
    # Then every lane stops
    for index in (0, 1):
        expect(lane(page, index).locator(".lane-status")).to_have_text("Stopped")


def test_conversation_inference_settings_show_ranges_and_are_kept(page: Any, model: Any) -> None:
    page.goto("/")
    page.locator("#composer-input").fill("hello")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant .usage")).to_contain_text("$0")
    page.locator(".settings-toggle").click()
    # The model's ranges are shown next to numeric inputs
    expect(page.locator("#inference-temperature-range")).to_have_text(re.compile(r"0 to 1"))
    expect(page.locator("#inference-temperature")).to_have_attribute("max", "1")
    page.locator("#inference-temperature").fill("0.3")
    page.locator("#inference-maxTokens").fill("200")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".settings [role=status]")).to_have_text("Saved.")
    expect(page.locator(".conversation-cost")).to_contain_text("$0")
    shot(page, "inference-settings")
    assert axe_violations(page) == []
    # Kept on the conversation: a reload shows them again
    page.reload()
    page.locator(".settings-toggle").click()
    expect(page.locator("#inference-temperature")).to_have_value("0.3")
    expect(page.locator("#inference-maxTokens")).to_have_value("200")


def test_a_past_comparison_is_reopened_followed_up_and_deleted(
    page: Any, model: Any, watch: PageWatch
) -> None:
    # Given a comparison made, then the page reloaded (nothing of it left in the page's memory)
    open_compare(page)
    page.locator("#compare-question").fill("Which fruit is yellow?")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(lane(page, 1).locator(".lane-status")).to_have_text("Done")
    page.reload()
    page.get_by_role("button", name="Compare models").click()
    # When it is chosen from the recent comparisons
    recent = page.get_by_role("navigation", name="Recent comparisons")
    expect(recent).to_be_visible()
    shot(page, "compare-recent")
    recent.get_by_role("button", name="Which fruit is yellow?", exact=True).click()
    # Then its lanes show their answers and a follow-up continues it
    expect(lane(page, 0).locator(".lane-text")).to_have_text("echo: Which fruit is yellow?")
    expect(page.locator("#lane-1-temperature")).to_have_value("1")
    page.locator("#compare-question").fill("And which is red?")
    page.get_by_role("button", name="Follow up").click()
    expect(lane(page, 1).locator(".lane-text")).to_have_text("echo: And which is red?")
    shot(page, "compare-reopened")
    assert axe_violations(page) == []
    # When it is deleted from the list
    page.get_by_role("button", name="New comparison").click()
    recent.get_by_role("button", name=re.compile("Delete comparison Which fruit")).click()
    # Then it is gone, after a reload too
    expect(page.get_by_role("button", name="Which fruit is yellow?", exact=True)).to_have_count(0)
    page.reload()
    page.get_by_role("button", name="Compare models").click()
    expect(page.get_by_role("button", name="Which fruit is yellow?", exact=True)).to_have_count(0)


def test_typing_in_one_lane_after_another_keeps_both(page: Any, model: Any) -> None:
    # Given the compare view
    open_compare(page)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/api/compare") else None)
    # When lane 1's temperature is typed, then lane 2's, then "Add lane" is clicked
    first, second = page.locator("#lane-0-temperature"), page.locator("#lane-1-temperature")
    # (keys go wherever the focus is, as a person's typing does)
    first.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("0.1")
    second.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("0.9")
    page.get_by_role("button", name="Add lane").click()
    # Then every lane keeps what was typed into it, and the comparison sends it
    expect(first).to_have_value("0.1")
    expect(second).to_have_value("0.9")
    expect(page.locator("#lane-2-temperature")).to_have_value("0.9")  # a new lane copies the last
    third = page.locator("#lane-2-temperature")
    third.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("0.5")
    page.locator("#compare-question").fill("Temperatures?")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(lane(page, 2).locator(".lane-status")).to_have_text("Done")
    lanes = json.loads(sent[0])["lanes"]
    assert [lane_body["inferenceConfig"]["temperature"] for lane_body in lanes] == [0.1, 0.9, 0.5]
