"""The default local stack (`make run`): the embedded SmolLM2-135M model behind the same routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local_stack.bedrock_runtime import DEFAULT_MODEL_ID
from local_stack.runner import LocalStack

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state_dir: Path = tmp_path_factory.mktemp("embedded-stack")
    with LocalStack(
        port=0, state_dir=state_dir, persist=False, settings_overrides={"max_output_tokens": 48}
    ) as stack:
        yield stack


def test_default_stack_streams_an_answer_from_the_embedded_model(embedded_stack: LocalStack) -> None:
    # Given the stack as `make run` starts it (embedded model by default)
    assert embedded_stack.default_model_id == DEFAULT_MODEL_ID
    models = httpx.get(embedded_stack.url + "/api/models").json()
    assert models["defaultModel"] == DEFAULT_MODEL_ID
    # When the browser's path asks for a streamed answer
    deltas: list[str] = []
    names: list[str] = []
    headers = {"Accept": "text/event-stream"}
    # (greedy decoding, and a question no one-token answer fits: a sampled "Red" once ended the test)
    body = {"message": "Count from one to five, in words.", "inferenceConfig": {"temperature": 0}}
    with httpx.stream("POST", embedded_stack.url + "/api/chat", json=body, headers=headers, timeout=120) as r:
        assert r.status_code == 200
        event = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
                names.append(event)
            elif line.startswith("data: ") and event == "delta":
                deltas.append(json.loads(line.removeprefix("data: "))["text"])
    # Then the model's text arrives in several deltas and the turn is stored
    assert names[0] == "meta" and names[-1] == "done"
    assert len(deltas) > 1 and "".join(deltas).strip()
    conversations = httpx.get(embedded_stack.url + "/api/conversations").json()["items"]
    assert conversations[0]["model"] == DEFAULT_MODEL_ID


def test_a_chinese_conversation_keeps_being_answered_past_the_models_context_window(
    embedded_stack: LocalStack,
) -> None:
    # Given a conversation in Chinese, which SmolLM2's tokenizer counts at about two tokens a
    # character while the history's estimate counts one, so a full history overflows its 4,096-token
    # window (Bedrock's "Input is too long for requested model.")
    question = "请用一句话回答：" + "我们今天去公园散步，天气很好，阳光明媚，空气清新。" * 28
    conversation_id = None
    notices: list[str] = []
    for _ in range(4):
        body: dict[str, object] = {"message": question, "inferenceConfig": {"temperature": 0}}
        if conversation_id:
            body["conversationId"] = conversation_id
        # When turn after turn is asked
        with httpx.stream(
            "POST",
            embedded_stack.url + "/api/chat",
            json=body,
            headers={"Accept": "text/event-stream"},
            timeout=120,
        ) as r:
            assert r.status_code == 200, r.read()
            event, names = "", []
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                    names.append(event)
                elif line.startswith("data: ") and event == "meta":
                    conversation_id = json.loads(line.removeprefix("data: "))["conversationId"]
                elif line.startswith("data: ") and event == "notice":
                    notices.append(json.loads(line.removeprefix("data: "))["code"])
        # Then every turn is answered, older turns left out once they no longer fit
        assert names[-1] == "done", names
    assert "history_shortened" in notices
    stored = httpx.get(f"{embedded_stack.url}/api/conversations/{conversation_id}").json()["messages"]
    assert len(stored) == 8  # the stored conversation keeps every turn


def test_a_single_message_longer_than_the_models_window_is_a_400_naming_the_message(
    embedded_stack: LocalStack,
) -> None:
    # Given a message within the API's character limit that SmolLM2 counts past its 4,096 tokens
    body = {"message": "😀🎉🚀" * 600 + " what?"}
    # When it is sent
    response = httpx.post(embedded_stack.url + "/api/chat", json=body, timeout=120)
    # Then the 400 names the message and what to do, not the engine's wording
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith(f"message: too long for {DEFAULT_MODEL_ID} to read at once")
    assert "increasing" not in message
