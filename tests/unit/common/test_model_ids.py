"""Model-id parsing: one shared definition, and the offline runtime agrees with it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chatbot_common.model_ids import INFERENCE_PROFILE_GEOGRAPHIES, provider_of, split_model_id
from local_stack.bedrock_runtime.server import ModelRegistry


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("us.amazon.nova-lite-v1:0", ("us", "amazon.nova-lite-v1:0")),
        ("us-gov.meta.llama3-8b-v1:0", ("us-gov", "meta.llama3-8b-v1:0")),
        ("global.anthropic.claude-v4:0", ("global", "anthropic.claude-v4:0")),
        ("amazon.nova-lite-v1:0", (None, "amazon.nova-lite-v1:0")),
        ("us.model", (None, "us.model")),
        ("xx.amazon.nova-lite-v1:0", (None, "xx.amazon.nova-lite-v1:0")),
    ],
)
def test_split_model_id_separates_the_geography_of_an_inference_profile(
    model_id: str, expected: tuple[str | None, str]
) -> None:
    assert split_model_id(model_id) == expected


@pytest.mark.parametrize(
    ("model_id", "provider"),
    [
        ("eu.anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
        ("meta.llama3-1-8b-instruct-v1:0", "meta"),
        ("apac.amazon.nova-lite-v1:0", "amazon"),
        ("local-model", ""),
    ],
)
def test_provider_of_reads_the_provider_segment(model_id: str, provider: str) -> None:
    assert provider_of(model_id) == provider


def test_every_shared_geography_is_known_to_the_offline_runtime() -> None:
    """The runtime keeps its own prefix pattern; this pins it to the shared set."""
    engine = SimpleNamespace(description=SimpleNamespace(model_id="amazon.nova-lite-v1:0"))
    registry = ModelRegistry([engine])  # type: ignore[list-item]

    for geography in sorted(INFERENCE_PROFILE_GEOGRAPHIES):
        assert registry.resolve(f"{geography}.amazon.nova-lite-v1:0") is engine, geography
    assert registry.resolve("xx.amazon.nova-lite-v1:0") is None
