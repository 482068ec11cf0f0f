"""Documents and images end to end: upload to moto, summarize and chat via the scripted Bedrock runtime."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

from PIL import Image

from tests.fakes import sample_files as files
from tests.integration.uploads.conftest import Stack

MARKER = "ZEPHYR-42"


def _filler(page: int) -> str:
    return f"Page {page}. " + " ".join(
        f"Routine operational note {i} about schedules, staffing and the facilities plan." for i in range(25)
    )


def _echo_marker(request: dict[str, Any]) -> str:
    text = request["prompt"].all_text()
    if MARKER in text:
        return f"Summary: the launch date code is {MARKER}."
    return "Summary: routine operational notes."


def _sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.strip().split("\n\n"):
        name = re.search(r"^event: (.+)$", frame, re.M)
        data = re.search(r"^data: (.+)$", frame, re.M)
        if name and data:
            events.append((name.group(1), json.loads(data.group(1))))
    return events


def test_summary_of_a_multi_page_pdf_reflects_a_fact_only_on_its_last_page(
    stack: Stack, scripted_reply
) -> None:
    scripted_reply(_echo_marker)
    pages = [_filler(i) for i in range(1, 9)] + [f"Final page. The launch date code is {MARKER}."]
    upload_id = stack.ready_upload("plan.pdf", files.text_pdf(pages), "application/pdf")
    before = len(stack.runtime.requests)

    response = stack.chat.post(f"/documents/{upload_id}/summary", json={})

    assert response.status_code == 200, response.text
    body = response.json()
    assert MARKER in body["summary"]
    assert body["chunks"] >= 4
    assert body["model"] == "local.scripted"
    assert body["usage"]["inputTokens"] > 0
    calls = stack.runtime.requests[before:]
    map_calls = [c for c in calls if "<part>" in json.dumps(c["messages"])]
    assert len(map_calls) == body["chunks"]  # every chunk was read, not just the first ones
    assert MARKER in json.dumps(map_calls[-1]["messages"]) or any(MARKER in json.dumps(c) for c in map_calls)
    assert MARKER in json.dumps(calls[-1]["messages"])  # the final reduce saw the last page's fact

    conversation = stack.chat.get(f"/conversations/{body['conversationId']}").json()
    assert conversation["title"] == "Summary of plan.pdf"
    user, assistant = conversation["messages"]
    assert user["content"] == "Summarize plan.pdf"
    assert user["attachments"] == [
        {
            "uploadId": upload_id,
            "kind": "document",
            "filename": "plan.pdf",
            "key": f"uploads/local-dev-user/{upload_id}/plan.pdf",
        }
    ]
    assert assistant["content"] == body["summary"] and assistant["id"] == body["messageId"]


def test_summary_streams_progress_then_the_summary(stack: Stack, scripted_reply) -> None:
    scripted_reply(_echo_marker)
    text = "\n\n".join(_filler(i) for i in range(6)) + f"\n\nThe code is {MARKER}."
    upload_id = stack.ready_upload("notes.md", text.encode(), "text/markdown")

    response = stack.chat.post(
        f"/documents/{upload_id}/summary", json={}, headers={"Accept": "text/event-stream"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["usage", "done"]
    progress = [data for name, data in events if name == "progress"]
    assert len(progress) >= 3
    assert [p["done"] for p in progress] == list(range(1, len(progress) + 1))
    assert progress[-1]["done"] == progress[-1]["total"]
    assert names.index("delta") > names.index("progress")
    summary = "".join(data["text"] for name, data in events if name == "delta")
    assert MARKER in summary


def test_a_follow_up_question_is_answered_from_the_document(stack: Stack, scripted_reply) -> None:
    scripted_reply("Summary: a maintenance manual.")
    sections = [_filler(i) for i in range(1, 40)]
    sections[30] += " The rotor bolt torque is 85 newton metres."
    upload_id = stack.ready_upload("manual.txt", "\n\n".join(sections).encode(), "text/plain")
    summary = stack.chat.post(f"/documents/{upload_id}/summary", json={}).json()

    def answer_from_excerpt(request: dict[str, Any]) -> str:
        found = re.search(r"torque is (\d+ newton metres)", request["prompt"].all_text())
        return f"According to the manual: {found.group(1)}." if found else "I do not know."

    scripted_reply(answer_from_excerpt)
    response = stack.chat.post(
        "/chat",
        json={"conversationId": summary["conversationId"], "message": "What is the rotor bolt torque?"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["answer"] == "According to the manual: 85 newton metres."
    sent = stack.runtime.requests[-1]["messages"][-1]["content"]
    excerpt = next(block["text"] for block in sent if "<document" in block.get("text", ""))
    assert 'name="manual.txt"' in excerpt
    assert len(excerpt) < len("\n\n".join(sections))  # relevant parts, not the whole manual
    history = stack.chat.get(f"/conversations/{summary['conversationId']}").json()["messages"]
    assert history[-2]["attachments"] == []  # the follow-up stores no bytes and no new reference


def test_two_images_reach_the_model_as_image_blocks(stack: Stack, scripted_reply) -> None:
    scripted_reply("The left one is red, the right one is big and blue.")
    small = stack.ready_upload("red.png", files.png_bytes(40, 30, "red"), "image/png", "image")
    big = stack.ready_upload("blue.jpg", files.image_bytes(3000, 2000, "JPEG", "blue"), "image/jpeg", "image")

    response = stack.chat.post(
        "/chat", json={"message": "Compare these two images.", "attachments": [small, big]}
    )

    assert response.status_code == 200, response.text
    # The newest question ends with a prompt-cache checkpoint (local models cache): set it aside.
    *content, cache_point = stack.runtime.requests[-1]["messages"][-1]["content"]
    assert cache_point == {"cachePoint": {"type": "default"}}
    images = [block["image"] for block in content if "image" in block]
    assert [image["format"] for image in images] == ["png", "jpeg"]
    sizes = [Image.open(io.BytesIO(base64.b64decode(image["source"]["bytes"]))).size for image in images]
    assert sizes == [(40, 30), (1568, 1045)]  # the big one was downscaled to the model's 1568 px
    assert content[-1] == {"text": "Compare these two images."}
    stored = stack.chat.get(f"/conversations/{response.json()['conversationId']}").json()["messages"][0]
    assert [a["kind"] for a in stored["attachments"]] == ["image", "image"]
    assert "bytes" not in json.dumps(stored)


def test_an_image_preset_with_an_empty_message_uses_the_preset_prompt(stack: Stack, scripted_reply) -> None:
    scripted_reply("A red rectangle.")
    image = stack.ready_upload("r.webp", files.image_bytes(50, 20, "WEBP"), "image/webp", "image")
    response = stack.chat.post("/chat", json={"message": "", "preset": "caption", "attachments": [image]})
    assert response.status_code == 200, response.text
    # The newest question ends with a prompt-cache checkpoint (local models cache): set it aside.
    *content, cache_point = stack.runtime.requests[-1]["messages"][-1]["content"]
    assert cache_point == {"cachePoint": {"type": "default"}}
    assert content[0]["image"]["format"] == "webp"
    assert "caption" in content[-1]["text"].lower()


def test_a_shift_jis_csv_reaches_the_model_as_japanese(stack: Stack, scripted_reply) -> None:
    scripted_reply("A payroll table of two people.")
    data = "氏名,金額\r\n佐藤,100\r\n鈴木,200\r\n".encode("cp932")
    upload_id = stack.ready_upload("pay.csv", data, "text/csv")
    response = stack.chat.post(f"/documents/{upload_id}/summary", json={})
    assert response.status_code == 200, response.text
    prompt = json.dumps(stack.runtime.requests[-1]["messages"], ensure_ascii=False)
    assert "氏名" in prompt and "佐藤" in prompt and "鈴木" in prompt


def test_a_long_dense_document_is_summarized_within_the_local_models_window(
    stack: Stack, scripted_reply
) -> None:
    # Given 30 pages of dense text (~25,000 estimated tokens, 6x the local model's window) and a
    # model that writes long partial summaries and a final one longer than maxTokens (the
    # scripted runtime refuses a prompt over its window, as Bedrock does, with "Input is too
    # long for requested model")
    def reply(request: dict[str, Any]) -> str:
        final = "Write one coherent summary" in request["prompt"].all_text()
        return "Summary sentence with facts and figures. " * (150 if final else 50)

    scripted_reply(reply)
    page = "Dense paragraph about budgets, schedules and staffing decisions for the quarter. " * 36
    text = "\n\n".join(f"Page {i}. {page}" for i in range(30))
    upload_id = stack.ready_upload("annual.txt", text.encode(), "text/plain")
    # When it is summarized, then every map and reduce call fit and the summary says it was cut
    response = stack.chat.post(f"/documents/{upload_id}/summary", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chunks"] > 6
    assert body["stopReason"] == "max_tokens"  # 900 words against maxTokens 800


def test_an_mpo_camera_photo_reaches_the_model_as_a_jpeg(stack: Stack, scripted_reply) -> None:
    scripted_reply("A blue picture.")
    frames = [Image.new("RGB", (64, 48), (10, 120, 200)), Image.new("RGB", (64, 48), (200, 20, 20))]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    image = stack.ready_upload("camera.jpg", buf.getvalue(), "image/jpeg", "image")
    response = stack.chat.post("/chat", json={"message": "What is this?", "attachments": [image]})
    assert response.status_code == 200, response.text
    block = stack.runtime.requests[-1]["messages"][-1]["content"][0]["image"]
    assert block["format"] == "jpeg"
    assert len(base64.b64decode(block["source"]["bytes"])) < len(buf.getvalue())  # first frame only
