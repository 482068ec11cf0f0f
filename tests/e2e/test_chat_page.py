"""The chat page in a real browser against the local stack (scripted model): Given/When/Then."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageWatch, shot

pytestmark = pytest.mark.e2e

ULID_HASH = re.compile(r"^#/c/[0-9a-z]{26}$")


def message_box(page: Any) -> Any:
    return page.get_by_role("textbox", name="Message")


def send(page: Any, text: str) -> Any:
    """Types and sends with Enter; returns the locator of the answer this turn produces."""
    answers = page.locator(".msg.assistant")
    before = answers.count()
    box = message_box(page)
    box.fill(text)
    box.press("Enter")
    expect(answers).to_have_count(before + 1)
    return answers.nth(before)


def wait_answered(answer: Any, timeout: float = 20_000) -> None:
    expect(answer).not_to_have_class(re.compile(r"\bstreaming\b"), timeout=timeout)


def test_answer_streams_in_while_it_is_generated(page: Any, model: Any) -> None:
    # Given a model that streams 40 words, a few per second
    words = " ".join(f"word{i}" for i in range(40))
    model.reply_for = lambda text: f"Streaming **answer**: {words}" if "stream please" in text else None
    model.set_delay(0.05)
    page.goto("/")

    # When a message is sent with Enter
    answer = send(page, "stream please")

    # Then the answer grows on screen in several steps before it is complete
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    lengths: list[int] = []
    deadline = time.monotonic() + 20
    while "streaming" in (answer.get_attribute("class") or "") and time.monotonic() < deadline:
        lengths.append(len(answer.locator(".markdown").inner_text()))
        if len(lengths) == 8:
            shot(page, "streaming-mid-answer")
        time.sleep(0.1)
    wait_answered(answer)
    final = answer.locator(".markdown").inner_text()
    partial = sorted({n for n in lengths if 0 < n < len(final)})
    assert len(partial) >= 3, f"expected the answer to appear incrementally, saw lengths {lengths}"
    assert final.startswith("Streaming answer: word0") and final.endswith("word39")
    expect(answer.locator(".markdown strong")).to_have_text("answer")
    # and it shows its token usage, a copy button, and the send button is back
    expect(answer.locator(".usage")).to_contain_text(re.compile(r"Tokens: \d+ in · \d+ out"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.get_by_role("button", name="Copy answer").click()
    expect(answer.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == f"Streaming **answer**: {words}"
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    # and the new conversation is in the URL and the sidebar
    assert ULID_HASH.match(page.evaluate("location.hash"))
    expect(page.locator(".conv-item.active")).to_have_count(1)


def test_conversation_survives_reload_and_can_be_renamed_and_deleted(page: Any, model: Any) -> None:
    # Given a conversation with one answered message
    page.goto("/")
    wait_answered(send(page, "remember the marmalade"))
    conv_hash = page.evaluate("location.hash")
    assert ULID_HASH.match(conv_hash)

    # When the page is reloaded
    page.reload()

    # Then the same conversation is open, and listed (and marked current) in the sidebar
    expect(page.locator(".msg.user")).to_have_text(["remember the marmalade"])
    expect(page.locator(".msg.assistant .markdown")).to_have_text(["echo: remember the marmalade"])
    link = page.locator(f'.conv-link[href="{conv_hash}"]')
    expect(link).to_have_attribute("aria-current", "page")
    item = page.locator(".conv-item", has=link)

    # When a new chat is started and the old one is picked from the sidebar again
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".empty-state")).to_be_visible()
    link.click()
    expect(page.locator(".msg.user")).to_have_text(["remember the marmalade"])

    # When it is renamed
    item.get_by_role("button", name=re.compile("^Rename")).click()
    rename = page.get_by_role("textbox", name="New conversation title")
    rename.fill("Marmalade notes")
    rename.press("Enter")
    expect(page.locator(".conv-title")).to_have_text("Marmalade notes")
    page.reload()
    expect(page.locator(".conv-title")).to_have_text("Marmalade notes")
    expect(link.locator(".conv-name")).to_have_text("Marmalade notes")
    shot(page, "sidebar-renamed")

    # When it is deleted (after confirming)
    item.get_by_role("button", name=re.compile("^Delete")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()

    # Then it is gone from the sidebar and the page shows a new chat
    expect(link).to_have_count(0)
    expect(page.locator(".empty-state")).to_be_visible()
    # And the keyboard focus stays in the sidebar (not lost to the page's body with the row)
    expect(page.get_by_role("button", name="New chat")).to_be_focused()
    page.reload()
    expect(link).to_have_count(0)


def make_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    for page_no in range(2):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        for line in range(30):
            pdf.cell(0, 8, f"Page {page_no + 1}, line {line + 1}: zebras have black and white stripes.")
            pdf.ln()
    pdf.output(str(path))
    return path


def test_pdf_upload_shows_progress_then_streams_a_summary_then_answers_follow_ups(
    page: Any, model: Any, tmp_path: Path
) -> None:
    # Given a two-page PDF, and a model that summarises what it is given
    pdf = make_pdf(tmp_path / "zebra-report.pdf")

    def reply(text: str) -> str | None:
        if "zebras" not in text.lower():
            return None
        if "which animal" in text.lower():
            return "From the document: it is about zebras."
        return "Summary: the report says zebras have black and white stripes."

    model.reply_for = reply
    page.goto("/")

    # When the file is picked
    page.locator("#file-input").set_input_files(str(pdf))

    # Then a card shows the upload, then the summary progress, then the streamed summary
    card = page.locator(".msg.doc")
    expect(card).to_contain_text("zebra-report.pdf")
    expect(card).to_have_attribute("data-stage", "done", timeout=30_000)
    upload_bar = card.get_by_role("progressbar", name="Upload of zebra-report.pdf")
    summary_bar = card.get_by_role("progressbar", name="Summary of zebra-report.pdf")
    assert upload_bar.evaluate("el => el.value === el.max")
    assert summary_bar.evaluate("el => el.max >= 1 && el.value === el.max")
    summary = page.locator(".msg.assistant").last
    wait_answered(summary)
    expect(summary.locator(".markdown")).to_contain_text("zebras have black and white stripes")
    conv_hash = page.evaluate("location.hash")
    assert ULID_HASH.match(conv_hash)
    shot(page, "pdf-summary")

    # When a follow-up question is asked
    follow_up = send(page, "Which animal is it about?")
    wait_answered(follow_up)

    # Then it is answered in the same conversation, with the document in the model's context
    expect(follow_up.locator(".markdown")).to_have_text("From the document: it is about zebras.")
    assert page.evaluate("location.hash") == conv_hash
    page.reload()
    expect(page.locator(".msg.assistant .markdown").first).to_contain_text(
        "zebras have black and white stripes"
    )


def test_images_attach_with_previews_and_a_preset_fills_the_prompt(
    page: Any, model: Any, tmp_path: Path
) -> None:
    from PIL import Image

    # Given two images
    png = tmp_path / "red-square.png"
    jpg = tmp_path / "blue-box.jpg"
    Image.new("RGB", (64, 48), (220, 40, 40)).save(png)
    Image.new("RGB", (32, 32), (30, 60, 200)).save(jpg, format="JPEG")
    page.goto("/")

    # When they are attached
    page.locator("#file-input").set_input_files([str(png), str(jpg)])

    # Then each shows a preview and becomes ready
    tray = page.get_by_role("list", name="Attached images")
    expect(tray.locator(".tray-item")).to_have_count(2)
    expect(tray.locator('.tray-item[data-status="ready"]')).to_have_count(2, timeout=20_000)
    for preview in tray.locator("img").all():
        assert preview.get_attribute("src").startswith("blob:")
        assert preview.evaluate("img => img.complete && img.naturalWidth > 0")

    # When a preset is chosen, it fills the (editable) prompt
    page.get_by_label("Image task").select_option("caption")
    prompt = message_box(page).input_value()
    assert prompt.strip(), "choosing a preset should fill the message box"
    shot(page, "images-attached")
    answers = page.locator(".msg.assistant")
    message_box(page).press("Enter")

    # Then the model is given both images and the answer appears
    expect(answers).to_have_count(1)
    answer = answers.first
    wait_answered(answer)
    text = answer.locator(".markdown")
    expect(text).to_contain_text("[Image: PNG, 64x48 pixels]")
    expect(text).to_contain_text("[Image: JPEG, 32x32 pixels]")
    expect(page.locator(".msg.user .thumb")).to_have_count(2)
    expect(tray).to_be_hidden()


def test_stop_ends_a_long_answer_and_the_page_recovers(page: Any, model: Any) -> None:
    # Given a model that would talk for a long time
    model.reply_for = lambda text: " ".join(f"tok{i}" for i in range(3000)) if "long please" in text else None
    model.set_delay(0.03)
    page.goto("/")
    answer = send(page, "long please")
    expect(answer.locator(".markdown")).to_contain_text("tok10")

    # When Stop is pressed
    page.get_by_role("button", name="Stop").click()

    # Then the stream stops, the answer says so, and the composer is usable again
    wait_answered(answer, timeout=5_000)
    expect(answer.locator(".answer-note")).to_have_text("Stopped.")
    shown = answer.locator(".markdown").inner_text()
    time.sleep(1.0)
    assert answer.locator(".markdown").inner_text() == shown, "text kept arriving after Stop"
    assert "tok2999" not in shown
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(message_box(page)).to_be_focused()
    shot(page, "stopped-answer")

    # When another message is sent
    model.set_delay(0.0)
    after = send(page, "are you still there")
    wait_answered(after)

    # Then it is answered normally
    expect(after.locator(".markdown")).to_have_text("echo: are you still there")
    # and the stored history remembers that the first answer was stopped
    page.reload()
    expect(page.locator(".msg.assistant").first.locator(".answer-note")).to_have_text(
        "Stopped before the end."
    )


XSS_REPLY = (
    'Careful: <img src=x onerror="window.__pwned=1;alert(1)"> then '
    "<script>window.__pwned=2;alert(2)</script> then "
    "![pic](javascript:alert(3)) and [click me](javascript:alert(4)) and "
    '<a href="javascript:alert(5)">html link</a> <iframe src="javascript:alert(6)"></iframe>'
    "\n\n<svg onload=alert(7)></svg>"
)
USER_XSS = 'xss please <img src=x onerror="window.__pwned=3;alert(8)"><b>bold?</b>'


def assert_inert(page: Any, watch: PageWatch) -> None:
    messages = page.locator("#messages")
    for tag in ("img", "script", "iframe", "svg", "b"):
        assert messages.locator(f".markdown {tag}, .user-text {tag}").count() == 0, f"a <{tag}> was injected"
    assert messages.locator('a[href^="javascript:" i]').count() == 0
    assert page.evaluate("window.__pwned") is None
    assert watch.dialogs == []
    assert watch.page_errors == []
    assert [e for e in watch.console_errors if "Content Security Policy" in e or "pwned" in e] == []


def test_html_and_script_in_messages_render_as_inert_text(page: Any, model: Any, watch: PageWatch) -> None:
    # Given a model whose answer contains HTML, script and javascript: links
    model.reply_for = lambda text: XSS_REPLY if "xss please" in text else None
    page.goto("/")

    # When a message that itself contains HTML is sent
    answer = send(page, USER_XSS)
    wait_answered(answer)
    page.wait_for_timeout(300)  # give any injected handler the chance to run

    # Then both show as text and nothing runs or is injected
    expect(page.locator(".msg.user .user-text")).to_have_text(USER_XSS)
    text = answer.locator(".markdown")
    expect(text).to_contain_text('<img src=x onerror="window.__pwned=1;alert(1)">')
    expect(text).to_contain_text("<script>window.__pwned=2;alert(2)</script>")
    assert_inert(page, watch)
    shot(page, "xss-inert")

    # and the same holds when the stored history is rendered after a reload
    page.reload()
    expect(page.locator(".msg.assistant .markdown")).to_contain_text("<script>")
    page.wait_for_timeout(300)
    assert_inert(page, watch)


def test_unusable_files_are_explained_in_plain_words(page: Any, model: Any, tmp_path: Path) -> None:
    page.goto("/")
    # Given a file type the service does not take at all
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00 not for you")
    page.locator("#file-input").set_input_files(str(exe))
    expect(page.get_by_role("alert").filter(has_text="setup.exe")).to_contain_text("not supported")

    # Given a text file pretending to be a PNG: the server's check rejects it
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not an image at all")
    page.locator("#file-input").set_input_files(str(fake))
    item = page.locator(".tray-item", has_text="holiday.png")
    expect(item).to_have_attribute("data-status", "error", timeout=20_000)
    expect(item.locator(".tray-state")).to_contain_text(re.compile("can't be used|not supported", re.I))
    shot(page, "file-errors")

    # Sending is refused until the bad image is removed
    message_box(page).fill("what is this")
    message_box(page).press("Enter")
    expect(page.get_by_role("alert").filter(has_text="failed to upload")).to_be_visible()
    item.get_by_role("button", name="Remove holiday.png").click()
    expect(item).to_have_count(0)


def test_phone_width_collapses_the_sidebar_and_keyboard_basics_work(page: Any, model: Any) -> None:
    # Given a phone-sized screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    sidebar = page.get_by_role("complementary", name="Conversations")
    expect(sidebar).to_be_hidden()

    # Shift+Enter makes a new line instead of sending
    box = message_box(page)
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    assert box.input_value() == "line one\nline two"
    expect(page.locator(".msg.user")).to_have_count(0)
    answer = send(page, "hello from a phone")
    wait_answered(answer)
    shot(page, "phone-chat")

    # The menu button opens the conversation list as a drawer; Escape closes it
    menu = page.get_by_role("button", name="Open conversation list")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.wait_for_timeout(300)  # the drawer slides in
    shot(page, "phone-sidebar-open")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()


def test_system_prompt_and_model_are_kept_per_conversation(page: Any, model: Any) -> None:
    # Given a new chat whose instructions are set before the first message
    page.goto("/#/")
    page.get_by_role("button", name=re.compile("^Model and instructions")).click()
    models = page.get_by_label("Model", exact=True)
    # (the model list arrives after the page: wait for it rather than read it at once)
    expect(models.locator("option[value='local.scripted']")).to_have_count(1)
    expect(models).to_have_value("local.scripted")
    system = page.get_by_label("System prompt")
    system.fill("Answer like a pirate.")
    page.get_by_role("button", name="Save instructions").click()

    # When the first message is sent
    wait_answered(send(page, "ahoy there"))

    # Then the model was given those instructions
    assert "Answer like a pirate." in model.systems[-1]

    # When they are changed for this (now existing) conversation
    system.fill("Answer like a poet.")
    page.get_by_role("button", name="Save instructions").click()
    expect(page.locator(".settings [role=status]")).to_have_text("Saved.")
    wait_answered(send(page, "and now"))
    assert "Answer like a poet." in model.systems[-1]

    # Then after a reload the conversation still has them
    page.reload()
    page.get_by_role("button", name=re.compile("^Model and instructions")).click()
    expect(page.get_by_label("System prompt")).to_have_value("Answer like a poet.")
    expect(page.get_by_label("Model", exact=True)).to_have_value("local.scripted")
    shot(page, "settings-saved")


PASTE_IMAGE = """async () => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 40, height: 30 });
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#3a7";
    ctx.fillRect(0, 0, 40, 30);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const data = new DataTransfer();
    data.items.add(new File([blob], "image.png", { type: "image/png" }));
    const box = document.getElementById("composer-input");
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def test_a_pasted_screenshot_is_attached_and_sent(page: Any, model: Any) -> None:
    # Given an image on the clipboard, when it is pasted into the message box
    page.goto("/#/")
    expect(message_box(page)).to_be_focused()
    page.evaluate(PASTE_IMAGE)

    # Then it is attached and uploaded like a picked file, and the model receives it
    expect(page.locator('.tray-item[data-status="ready"]')).to_have_count(1, timeout=20_000)
    answer = send(page, "what did I paste?")
    wait_answered(answer)
    expect(answer.locator(".markdown")).to_contain_text("[Image: PNG, 40x30 pixels]")


def test_model_failures_are_explained_and_the_message_can_be_retried(
    page: Any, stack: Any, model: Any
) -> None:
    faults = stack.runtime.faults
    page.goto("/#/")
    try:
        # Given a model service that keeps throttling, when a message is sent
        faults.throttle(100)
        box = message_box(page)
        box.fill("busy right now?")
        box.press("Enter")

        # Then the person is told to wait and retry, and their text is back in the box
        expect(page.get_by_role("alert").filter(has_text="busy")).to_be_visible(timeout=30_000)
        expect(box).to_have_value("busy right now?")
        expect(page.locator(".msg.user")).to_have_count(0)
        faults.clear()

        # Given a stream that breaks after a few words, when the message is retried
        model.reply_for = lambda text: " ".join(f"part{i}" for i in range(50)) if "busy" in text else None
        faults.stream_error_after(5)
        box.press("Enter")

        # Then the partial answer stays, with a plain note that it failed
        answer = page.locator(".msg.assistant").last
        wait_answered(answer)
        expect(answer.locator(".answer-note")).to_contain_text("problem")
        expect(answer.locator(".markdown")).to_contain_text("part0")
        shot(page, "model-errors")
    finally:
        faults.clear()


DROP_NOTES = """async (dropEvent) => {
    const data = new DataTransfer();
    const text = "# Meeting notes\\n\\nThe okapi budget was approved.\\n";
    data.items.add(new File([text], "notes.md", { type: "" }));
    const zone = document.getElementById("main");
    zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    const overlay = !document.querySelector(".drop-overlay").hidden;
    const init = { dataTransfer: data, bubbles: true, cancelable: true };
    if (dropEvent) zone.dispatchEvent(new DragEvent("drop", init));
    return overlay;
}"""


def test_a_dropped_document_is_summarised_and_a_too_large_image_is_refused(
    page: Any, model: Any, tmp_path: Path
) -> None:
    model.reply_for = lambda text: "Summary: the okapi budget passed." if "okapi" in text.lower() else None
    page.goto("/#/")
    expect(message_box(page)).to_be_focused()

    # When a Markdown file (no type from the browser) is dragged over the page, a drop zone shows
    assert page.evaluate(DROP_NOTES, False) is True
    shot(page, "drop-overlay")
    # and when it is dropped, it is uploaded and summarised
    page.evaluate(DROP_NOTES, True)
    expect(page.locator(".drop-overlay")).to_be_hidden()
    card = page.locator(".msg.doc")
    expect(card).to_have_attribute("data-stage", "done", timeout=30_000)
    expect(page.locator(".msg.assistant .markdown").last).to_have_text("Summary: the okapi budget passed.")

    # Given an image larger than the service takes, when it is attached
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4_000_000))
    page.locator("#file-input").set_input_files(str(huge))

    # Then it is refused in plain words
    item = page.locator(".tray-item", has_text="huge.png")
    expect(item).to_have_attribute("data-status", "error", timeout=20_000)
    expect(item.locator(".tray-state")).to_contain_text(re.compile(r"too large \(\d(\.\d)? MB\)"))
