"""Content blocks reaching the Bedrock wire, local-mode identity, and the real embedded model."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi.testclient import TestClient

from chatbot_common.keys import new_id
from lambda_chat.app import create_app
from lambda_chat.domain.presets import preset_prompt
from local_stack.bedrock_runtime import RunningRuntime
from tests.fakes import sample_files as files
from tests.fakes.chat import FakeResolver
from tests.integration.chat.conftest import ChatStack, chat_settings, serve, sse_events


def test_image_blocks_reach_bedrock_as_converse_image_blocks(chat_stack: ChatStack) -> None:
    resolver = FakeResolver(image=files.png_bytes(8, 8))
    app = create_app(chat_settings(local_mode=True), attachments=resolver)
    upload = new_id()
    with TestClient(app) as client:  # local mode: the dev identity, no header needed
        response = client.post("/chat", json={"message": "", "preset": "caption", "attachments": [upload]})
        assert response.status_code == 200, response.text
        conversation = client.get(f"/conversations/{response.json()['conversationId']}").json()

    request = next(
        r for r in reversed(chat_stack.runtime.requests) if "image" in r["messages"][-1]["content"][0]
    )
    # The newest question ends with a prompt-cache checkpoint (local models cache).
    *blocks, cache_point = request["messages"][-1]["content"]
    assert cache_point == {"cachePoint": {"type": "default"}}
    image_block, text_block = blocks
    assert image_block["image"]["format"] == "png"
    assert base64.b64decode(image_block["image"]["source"]["bytes"]) == resolver.image
    assert text_block == {"text": preset_prompt("caption")}

    user_message = conversation["messages"][0]
    assert user_message["attachments"] == [
        {
            "uploadId": upload,
            "kind": "image",
            "filename": "red.png",
            "key": f"uploads/local-dev-user/{upload}/red.png",
        }
    ]
    assert user_message["content"] == preset_prompt("caption")


@pytest.mark.model
def test_embedded_model_answers_over_sse_and_remembers_the_conversation(
    embedded_runtime: RunningRuntime, stack_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", embedded_runtime.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", embedded_runtime.endpoint_url)
    model_id = embedded_runtime.engines[0].description.model_id
    app = create_app(chat_settings(local_mode=True, default_model_id=model_id, max_output_tokens=48))
    base_url, server, thread = serve(app)
    try:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            assert client.get("/models").json()["defaultModel"] == model_id
            with client.stream(
                "POST",
                "/chat",
                json={"message": "My name is Ada. Say hello to me.", "inferenceConfig": {"temperature": 0}},
                headers={"Accept": "text/event-stream"},
            ) as response:
                assert response.status_code == 200
                events = list(sse_events(response))
            names = [n for n, _ in events]
            assert names[0] == "meta" and names[-1] == "done"
            assert names.count("delta") >= 2
            answer = "".join(d["text"] for n, d in events if n == "delta")
            assert answer.strip()
            conversation_id = events[0][1]["conversationId"]

            second = client.post(
                "/chat",
                json={
                    "message": "What is my name?",
                    "conversationId": conversation_id,
                    "inferenceConfig": {"temperature": 0},
                },
            )
            assert second.status_code == 200
            assert second.json()["answer"].strip()
            last = embedded_runtime.requests[-1]
            assert last["messages"][0]["content"][0]["text"] == "My name is Ada. Say hello to me."
            assert [m["role"] for m in last["messages"]] == ["user", "assistant", "user"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
