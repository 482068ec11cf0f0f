"""Prompt caching: where cachePoint blocks go, what reaches Bedrock, and where the cache token
counts end up (JSON and SSE usage, stored answer, call record)."""

from __future__ import annotations

from langchain_aws.chat_models.bedrock_converse import _messages_to_bedrock
from langchain_core.messages import AIMessageChunk

from chatbot_common.model_table import DEFAULT_MODEL_TABLE, PromptCaching
from lambda_chat.adapters.bedrock_tools import to_langchain_messages, tool_model_chunks
from lambda_chat.domain.chat import TurnInput
from lambda_chat.domain.ports import ChatMessage, ModelChunk, ModelRequest
from lambda_chat.domain.prompt_cache import plan_cache_points
from tests.fakes.chat import alternating
from tests.unit.chat.conftest import Harness

CLAUDE = PromptCaching(
    supported=True, min_tokens_per_checkpoint=1_024, fields=("system", "messages", "tools")
)
NOVA_LIKE = PromptCaching(supported=True, min_tokens_per_checkpoint=10, fields=("system",))
LONG_SYSTEM = "You are a careful assistant for a logistics team. " * 100  # ~1,250 tokens


def conversation(turns: int, words: int = 10) -> list[ChatMessage]:
    messages = []
    for i in range(turns):
        messages.append(ChatMessage.text("user", f"question {i} " + "word " * words))
        messages.append(ChatMessage.text("assistant", f"answer {i} " + "word " * words))
    messages.append(ChatMessage.text("user", "newest question"))
    return messages


def test_models_without_prompt_caching_get_no_cache_points() -> None:
    plan = plan_cache_points(PromptCaching(), system=LONG_SYSTEM, messages=conversation(50, 200))
    assert plan.count == 0


def test_a_long_system_prompt_and_the_history_through_the_newest_question_are_cached() -> None:
    messages = conversation(3)
    plan = plan_cache_points(CLAUDE, system=LONG_SYSTEM, messages=messages)
    assert plan.system is True
    assert plan.after_messages == (len(messages) - 1,)


def test_no_checkpoint_before_the_prefix_reaches_the_models_minimum() -> None:
    short = plan_cache_points(CLAUDE, system="Be brief.", messages=conversation(1))
    assert short.count == 0
    # The history alone grows past the minimum: one checkpoint after the newest question.
    longer = plan_cache_points(CLAUDE, system="Be brief.", messages=conversation(10, 400))
    assert (longer.system, longer.after_messages) == (False, (20,))


def test_only_the_fields_the_model_accepts_and_never_more_than_its_maximum() -> None:
    plan = plan_cache_points(NOVA_LIKE, system=LONG_SYSTEM, messages=conversation(5, 200))
    assert (plan.system, plan.after_messages) == (True, ())
    full = plan_cache_points(
        CLAUDE, system=LONG_SYSTEM, messages=conversation(5, 400), reserved_checkpoints=3
    )
    assert full.count == 1
    none_left = plan_cache_points(
        CLAUDE, system=LONG_SYSTEM, messages=conversation(5), reserved_checkpoints=4
    )
    assert none_left.count == 0


def test_local_models_are_caching_capable_and_free_to_cache() -> None:
    profile = DEFAULT_MODEL_TABLE.profile_for("local.smollm2-135m-instruct")
    assert profile.prompt_caching.supported
    assert profile.price is not None and profile.price.cache_read_per_1k == 0


def test_cache_points_reach_bedrock_as_converse_cachepoint_blocks() -> None:
    request = ModelRequest(
        model_id="m",
        system="sys",
        messages=alternating("earlier", "answer", "now"),
        cache_system=True,
        cache_after_messages=(2,),
    )
    bedrock_messages, system = _messages_to_bedrock(to_langchain_messages(request))
    assert system == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert bedrock_messages[0]["content"] == [{"text": "earlier"}]
    assert bedrock_messages[-1]["content"] == [{"text": "now"}, {"cachePoint": {"type": "default"}}]


def test_langchain_usage_is_split_back_into_converse_counts() -> None:
    # langchain-aws folds cacheRead/WriteInputTokens into input_tokens; Converse's inputTokens excludes them.
    chunk = AIMessageChunk(
        content="",
        usage_metadata={
            "input_tokens": 1_300,
            "output_tokens": 20,
            "total_tokens": 1_320,
            "input_token_details": {"cache_read": 1_200, "cache_creation": 80},
        },
    )
    (got,) = list(tool_model_chunks([chunk]))
    assert (got.input_tokens, got.cache_read_tokens, got.cache_write_tokens) == (20, 1_200, 80)


def cached_reply(harness: Harness) -> None:
    harness.model.scripts.append(
        [
            ModelChunk(text="hello"),
            ModelChunk(input_tokens=12, output_tokens=3, cache_read_tokens=900, cache_write_tokens=40),
            ModelChunk(stop_reason="end_turn"),
        ]
    )


def test_cache_token_counts_reach_the_usage_the_stored_answer_and_the_call_record(harness: Harness) -> None:
    cached_reply(harness)
    result = harness.chat.run_turn("alice", TurnInput(message="hi", system="Be brief."))

    assert (result.usage.cache_read_tokens, result.usage.cache_write_tokens) == (900, 40)
    answer = harness.store.all_messages("alice", result.conversation_id)[-1]
    assert answer.usage is not None and answer.usage.cache_read_tokens == 900
    [call] = harness.store.calls
    assert (call.input_tokens, call.cache_read_tokens, call.cache_write_tokens) == (12, 900, 40)
    # The fake model is a local.* model: caching-capable, so the request carried checkpoints.
    request = harness.model.requests[-1]
    assert request.cache_system and request.cache_after_messages == (0,)


def test_the_sse_usage_event_names_the_cache_counts_as_converse_does(harness: Harness) -> None:
    cached_reply(harness)
    events = list(harness.chat.start_turn("alice", TurnInput(message="hi")))
    [usage] = [e.data for e in events if e.name == "usage"]
    assert usage["cacheReadInputTokens"] == 900 and usage["cacheWriteInputTokens"] == 40


def test_summary_instructions_get_a_checkpoint_for_caching_models_only() -> None:
    import threading

    from lambda_chat.attachments.summary_service import ChatModelSummaries
    from tests.fakes.chat import FakeModel

    for model_id, expected in (("local.scripted", True), ("meta.llama3-8b-instruct-v1:0", False)):
        model = FakeModel()
        complete = ChatModelSummaries(
            model, model_id, 100, log_call=lambda *args: None, cancelled=threading.Event()
        )
        complete(LONG_SYSTEM, "Summarize: a chunk")
        assert model.requests[-1].cache_system is expected


def test_the_json_usage_carries_the_cache_counts() -> None:
    from lambda_chat.domain.entities import Usage
    from lambda_chat.schemas import UsageOut

    out = UsageOut.model_validate(Usage(5, 6, cache_read_tokens=700, cache_write_tokens=30))
    assert out.model_dump(by_alias=True)["cacheReadInputTokens"] == 700
    assert out.model_dump(by_alias=True)["cacheWriteInputTokens"] == 30
