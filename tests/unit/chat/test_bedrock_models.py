"""The Bedrock adapter without network: error translation, provider names, and how content
blocks are converted for Bedrock."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EventStreamError
from langchain_aws.chat_models.bedrock_converse import _messages_to_bedrock

from chatbot_common.errors import InvalidInput, Throttled, UpstreamError
from lambda_chat.adapters.bedrock_models import provider_for, translate_bedrock_error
from lambda_chat.adapters.bedrock_tools import to_langchain_messages
from lambda_chat.domain.errors import ModelBusy
from lambda_chat.domain.ports import ChatMessage, ModelRequest
from tests.fakes.chat import alternating


def client_error(code: str, cls: type[ClientError] = ClientError) -> ClientError:
    return cls({"Error": {"Code": code, "Message": "m"}}, "ConverseStream")


@pytest.mark.parametrize(
    ("model_id", "provider"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic"),
        ("us.amazon.nova-lite-v1:0", "amazon"),
        ("meta.llama3-8b-instruct-v1:0", "meta"),
        ("local.scripted", "amazon"),
        ("local.smollm2-135m-instruct", "amazon"),
        ("weird", "amazon"),
    ],
)
def test_provider_is_derived_from_the_model_id(model_id: str, provider: str) -> None:
    assert provider_for(model_id) == provider


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", Throttled),
        ("throttlingException", Throttled),  # inside the event stream
        ("ServiceUnavailableException", ModelBusy),
        ("serviceUnavailableException", ModelBusy),
        ("ValidationException", InvalidInput),
        ("AccessDeniedException", InvalidInput),
        ("ResourceNotFoundException", InvalidInput),
        ("modelStreamErrorException", UpstreamError),
        ("InternalServerException", UpstreamError),
    ],
)
def test_bedrock_errors_become_domain_errors(code: str, error: type[Exception]) -> None:
    assert type(translate_bedrock_error(client_error(code))) is error
    assert type(translate_bedrock_error(client_error(code, EventStreamError))) is error


def test_missing_message_stop_is_an_upstream_error() -> None:
    assert isinstance(translate_bedrock_error(ConnectionError("no messageStop")), UpstreamError)


def test_image_and_text_blocks_reach_bedrock_as_converse_blocks() -> None:
    image = {"image": {"format": "png", "source": {"bytes": b"\x89PNG..."}}}
    request = ModelRequest(
        model_id="m",
        system="sys",
        messages=[
            *alternating("earlier", "answer"),
            ChatMessage(role="user", content=[image, {"text": "EXCERPT"}, {"text": "what is this?"}]),
        ],
    )
    bedrock_messages, system = _messages_to_bedrock(to_langchain_messages(request))
    assert system == [{"text": "sys"}]
    assert [m["role"] for m in bedrock_messages] == ["user", "assistant", "user"]
    assert bedrock_messages[-1]["content"] == [image, {"text": "EXCERPT"}, {"text": "what is this?"}]
