from __future__ import annotations

import pytest

from chatbot_common.errors import InvalidInput, UpstreamError
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.entities import ModelInfo
from tests.fakes.chat import FakeDirectory


class FlakyDirectory(FakeDirectory):
    fail = False

    def list_models(self) -> list[ModelInfo]:
        if self.fail:
            self.calls += 1
            raise UpstreamError("control plane down")
        return super().list_models()


def test_models_are_cached_until_the_ttl_expires() -> None:
    now = [0.0]
    directory = FakeDirectory()
    catalog = ModelCatalog(directory, default_model_id="local.fake", ttl_seconds=60, clock=lambda: now[0])
    catalog.models()
    catalog.require("local.other")
    assert directory.calls == 1
    now[0] = 61
    catalog.models()
    assert directory.calls == 2


def test_allowed_ids_filter_the_list_and_the_default_falls_back_to_an_allowed_model() -> None:
    catalog = ModelCatalog(FakeDirectory(), default_model_id="local.fake", allowed_model_ids=["local.other"])
    assert [m.id for m in catalog.models()] == ["local.other"]
    assert catalog.default_model_id() == "local.other"
    with pytest.raises(InvalidInput):
        catalog.require("local.fake")


def test_a_failed_refresh_serves_the_stale_list_but_a_first_failure_raises() -> None:
    now = [0.0]
    directory = FlakyDirectory()
    catalog = ModelCatalog(directory, default_model_id="local.fake", ttl_seconds=60, clock=lambda: now[0])
    assert len(catalog.models()) == 2
    directory.fail = True
    now[0] = 100
    assert len(catalog.models()) == 2
    assert len(catalog.models()) == 2  # no hammering: next retry after a pause
    assert directory.calls == 2  # 1 success + 1 failed refresh

    empty = ModelCatalog(FlakyDirectory(), default_model_id="x")
    empty._directory.fail = True  # type: ignore[attr-defined]
    with pytest.raises(UpstreamError):
        empty.models()


def test_configured_models_missing_from_the_listing_are_still_offered() -> None:
    """E.g. the default inference profile where ListInferenceProfiles is not permitted."""
    catalog = ModelCatalog(FakeDirectory(), default_model_id="us.amazon.nova-lite-v1:0")
    model = catalog.require("us.amazon.nova-lite-v1:0")
    assert (model.provider, model.streaming) == ("amazon", True)
    assert catalog.default_model_id() == "us.amazon.nova-lite-v1:0"
    assert {m.id for m in catalog.models()} == {"local.fake", "local.other", "us.amazon.nova-lite-v1:0"}
    with pytest.raises(InvalidInput):
        catalog.require("us.amazon.not-configured-v1:0")

    allowed = ModelCatalog(
        FakeDirectory(),
        default_model_id="local.fake",
        allowed_model_ids=["local.other", "eu.anthropic.x-v1:0"],
    )
    assert [m.id for m in allowed.models()] == ["local.other", "eu.anthropic.x-v1:0"]
