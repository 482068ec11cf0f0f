"""Request validation messages, without a server: botocore's model constraints in AWS's wording and
Bedrock's semantic rules."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.bedrock_runtime.exceptions import ValidationException
from local_stack.bedrock_runtime.validation import check_converse_rules, count_cache_points, validate_input


def _converse(**body: Any) -> dict[str, Any]:
    return {"modelId": "local.scripted", "messages": [{"role": "user", "content": [{"text": "hi"}]}], **body}


def test_valid_request_passes() -> None:
    validate_input("Converse", _converse(inferenceConfig={"maxTokens": 10}))


def test_unknown_top_level_member_is_ignored_as_aws_does() -> None:
    validate_input("Converse", _converse(someNewMember={"x": 1}))


def test_unknown_nested_member_is_rejected() -> None:
    with pytest.raises(ValidationException, match="Member is not one of"):
        validate_input("Converse", _converse(inferenceConfig={"maxTokenz": 10}))


def test_missing_required_member() -> None:
    with pytest.raises(ValidationException) as caught:
        validate_input("Converse", {"modelId": "m", "messages": [{"role": "user"}]})
    assert caught.value.message == (
        "1 validation error detected: Value null at 'messages.1.member.content' "
        "failed to satisfy constraint: "
        "Member must not be null"
    )


def test_sensitive_values_are_redacted() -> None:
    with pytest.raises(ValidationException) as caught:
        validate_input("Converse", _converse(requestMetadata={f"k{i}": "v" for i in range(17)}))
    assert "Value '*** Sensitive Data Redacted ***' at 'requestMetadata'" in caught.value.message


def test_errors_are_counted() -> None:
    with pytest.raises(ValidationException) as caught:
        validate_input("Converse", _converse(inferenceConfig={"temperature": 2, "topP": -1}))
    assert caught.value.message.startswith("2 validation errors detected: ")


def test_invoke_model_header_members_are_checked() -> None:
    with pytest.raises(ValidationException, match="performanceConfigLatency"):
        validate_input("InvokeModel", {"modelId": "m", "body": b"{}", "performanceConfigLatency": "fastest"})


def test_assistant_tool_use_last_is_allowed() -> None:
    # Nothing answers it yet: the model is being asked to continue (no following user message)
    check_converse_rules(
        {
            "messages": [
                {"role": "user", "content": [{"text": "hi"}]},
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "x", "input": {}}}],
                },
            ]
        }
    )


def test_partially_answered_tool_uses_name_the_missing_ids() -> None:
    with pytest.raises(ValidationException) as caught:
        check_converse_rules(
            {
                "messages": [
                    {"role": "user", "content": [{"text": "hi"}]},
                    {
                        "role": "assistant",
                        "content": [
                            {"toolUse": {"toolUseId": i, "name": "x", "input": {}}} for i in ("a", "b", "c")
                        ],
                    },
                    {
                        "role": "user",
                        "content": [{"toolResult": {"toolUseId": "b", "content": [{"text": "ok"}]}}],
                    },
                ]
            }
        )
    assert (
        caught.value.message == "Expected toolResult blocks at messages.2.content for the following Ids: a, c"
    )


def test_error_tool_result_needs_content() -> None:
    with pytest.raises(ValidationException, match="cannot be empty when status value is error"):
        check_converse_rules(
            {
                "messages": [
                    {"role": "user", "content": [{"text": "hi"}]},
                    {
                        "role": "assistant",
                        "content": [{"toolUse": {"toolUseId": "a", "name": "x", "input": {}}}],
                    },
                    {
                        "role": "user",
                        "content": [{"toolResult": {"toolUseId": "a", "content": [], "status": "error"}}],
                    },
                ]
            }
        )


@pytest.mark.parametrize("name", ["Report 2026", "a-b (c) [d]", "snake_case"])
def test_document_names_bedrock_accepts(name: str) -> None:
    document = {"document": {"format": "txt", "name": name, "source": {"text": "x"}}}
    check_converse_rules({"messages": [{"role": "user", "content": [document, {"text": "hi"}]}]})


def test_blank_system_text() -> None:
    with pytest.raises(ValidationException, match=r"SystemContentBlock object at system\.1 is blank"):
        check_converse_rules({"system": [{"text": "ok"}, {"text": "  "}], "messages": []})


def test_cache_points_are_counted_where_converse_accepts_them() -> None:
    point = {"cachePoint": {"type": "default"}}
    body = {
        "toolConfig": {"tools": [point]},
        "system": [{"text": "s"}, point],
        "messages": [{"role": "user", "content": [{"text": "u"}, point]}],
    }
    assert count_cache_points(body) == 3


def _conversation(turns: int, tag: str) -> list[dict[str, Any]]:
    """`turns` user/assistant exchanges ending with a user message, unique to `tag`."""
    messages: list[dict[str, Any]] = []
    for turn in range(turns):
        messages.append({"role": "user", "content": [{"text": f"{tag} question {turn}"}]})
        messages.append({"role": "assistant", "content": [{"text": f"{tag} answer {turn}"}]})
    return [*messages, {"role": "user", "content": [{"text": f"{tag} last"}]}]


def test_a_resent_conversation_whose_new_message_is_invalid_names_its_real_place() -> None:
    # Given a conversation the runtime validated on an earlier turn
    earlier = _conversation(3, "resent")
    validate_input("ConverseStream", {"modelId": "m", "messages": earlier})
    # When the next turn resends it with a new, invalid message (an unknown content block member)
    invalid = {"role": "user", "content": [{"txt": "typo"}]}
    turn = [*earlier, {"role": "assistant", "content": [{"text": "ok"}]}, invalid]
    # Then the error names the message's place in the whole request (the 9th), every time
    for _ in range(2):
        with pytest.raises(ValidationException) as caught:
            validate_input("ConverseStream", {"modelId": "m", "messages": turn})
        assert "'messages.9.member.content.1.member.txt'" in caught.value.message
        assert caught.value.message.startswith("1 validation error detected: ")


def test_an_invalid_message_is_never_remembered_as_valid() -> None:
    # Given a request holding a message with a role outside the model's enum
    bad = {"role": "robot", "content": [{"text": "x"}]}
    request = {"modelId": "m", "messages": [*_conversation(1, "never"), bad]}
    # When it is sent twice, and then another request containing the same message
    for _ in range(2):
        with pytest.raises(ValidationException, match=r"messages\.4\.member\.role"):
            validate_input("Converse", request)
    with pytest.raises(ValidationException, match=r"messages\.2\.member\.role"):
        validate_input(
            "Converse", {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "a"}]}, bad]}
        )
    # Then each is refused with the message's own place (nothing remembered it as valid)


def test_remembered_messages_are_bounded_least_recently_used_first() -> None:
    from local_stack.bedrock_runtime.validation import _ValidMessages

    valid = _ValidMessages(max_entries=2)
    messages = [{"role": "user", "content": [{"text": f"m{i}"}]} for i in range(3)]
    keys = [valid.key(m) for m in messages]
    valid.remember(keys[:2])
    valid.remember(keys[:1])  # m0 used again: m1 is now the least recently used
    valid.remember(keys[2:])
    assert valid.unseen(messages, keys) == [messages[1]]
