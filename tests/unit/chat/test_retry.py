from __future__ import annotations

import pytest

from chatbot_common.errors import Throttled, UpstreamError
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.ports import ChatMessage, ModelChunk, ModelRequest
from lambda_chat.domain.retry import RetryingChatModel, RetryPolicy
from tests.fakes.chat import FakeModel

REQUEST = ModelRequest(model_id="m", messages=[ChatMessage.text("user", "hi")])
OK = [ModelChunk(text="hello"), ModelChunk(stop_reason="end_turn")]


def test_full_jitter_delays_grow_exponentially_and_are_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, rand=lambda: 1.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert RetryPolicy(base_delay=0.5, rand=lambda: 0.0).delay(3) == 0.0


def test_given_throttling_before_first_token_when_streaming_then_retried_with_backoff() -> None:
    sleeps: list[float] = []
    model = FakeModel(scripts=[[Throttled("slow down")], [ModelBusy("busy")], OK])
    retrying = RetryingChatModel(
        model, RetryPolicy(max_attempts=4, base_delay=1, sleep=sleeps.append, rand=lambda: 1)
    )
    chunks = list(retrying.stream(REQUEST))
    assert [c.text for c in chunks] == ["hello", ""]
    assert sleeps == [1, 2]
    assert len(model.requests) == 3


def test_throttling_in_stream_after_metadata_but_before_text_is_still_retried() -> None:
    model = FakeModel(scripts=[[ModelChunk(), Throttled("in-stream")], OK])
    retrying = RetryingChatModel(model, RetryPolicy(sleep=lambda _: None))
    assert "".join(c.text for c in retrying.stream(REQUEST)) == "hello"


def test_gives_up_after_max_attempts_with_the_throttled_error() -> None:
    model = FakeModel(scripts=[[Throttled("t")]] * 3)
    retrying = RetryingChatModel(model, RetryPolicy(max_attempts=3, sleep=lambda _: None))
    with pytest.raises(Throttled):
        list(retrying.stream(REQUEST))
    assert len(model.requests) == 3


def test_no_retry_once_text_was_sent_and_none_for_other_errors() -> None:
    model = FakeModel(scripts=[[ModelChunk(text="par"), Throttled("late")], OK])
    retrying = RetryingChatModel(model, RetryPolicy(sleep=lambda _: None))
    with pytest.raises(Throttled):
        list(retrying.stream(REQUEST))
    assert len(model.requests) == 1

    model = FakeModel(scripts=[[UpstreamError("boom")], OK])
    with pytest.raises(UpstreamError):
        list(RetryingChatModel(model, RetryPolicy(sleep=lambda _: None)).stream(REQUEST))
    assert len(model.requests) == 1


def test_closing_the_retrying_stream_closes_the_inner_one() -> None:
    model = FakeModel(scripts=[[ModelChunk(text="a"), ModelChunk(text="b"), ModelChunk(text="c")]])
    stream = RetryingChatModel(model, RetryPolicy()).stream(REQUEST)
    assert next(stream).text == "a"
    stream.close()  # type: ignore[attr-defined]
    assert model.closed == 1
    assert model.chunks_pulled == 1


def test_every_throttled_attempt_is_reported() -> None:
    seen: list[str] = []
    model = FakeModel(scripts=[[Throttled("t")], [ModelBusy("b")], [Throttled("t")], OK])
    retrying = RetryingChatModel(
        model,
        RetryPolicy(max_attempts=4, sleep=lambda _: None),
        on_throttle=lambda r: seen.append(r.model_id),
    )
    list(retrying.stream(REQUEST))
    assert seen == ["m", "m"]


def test_no_retry_once_a_tool_use_part_went_out() -> None:
    from chatbot_common.errors import Throttled
    from lambda_chat.domain.ports import ModelChunk, ModelRequest
    from lambda_chat.domain.retry import RetryingChatModel, RetryPolicy
    from tests.fakes.chat import FakeModel

    model = FakeModel(scripts=[[ModelChunk(tool_use=True), Throttled("slow down")], [ModelChunk(text="x")]])
    retrying = RetryingChatModel(model, RetryPolicy(max_attempts=3, sleep=lambda _: None))
    chunks = retrying.stream(ModelRequest(model_id="m", messages=[]))
    assert next(chunks).tool_use
    try:
        next(chunks)
        raise AssertionError("expected Throttled")
    except Throttled:
        pass
    assert len(model.requests) == 1
