"""GET /health, /openapi.json, /models, /presets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chatbot_common.model_table import CONVERSE_MIN_MAX_TOKENS, ModelProfile
from chatbot_common.openapi import load_document
from lambda_chat.domain.presets import IMAGE_PRESETS
from lambda_chat.schemas import (
    HealthResponse,
    ModelsResponse,
    PresetsResponse,
    error_responses,
)
from lambda_chat.services import CurrentIdentity, Services

router = APIRouter(tags=["meta"])


@router.get("/openapi.json", include_in_schema=False)
def openapi_document() -> dict[str, Any]:
    """The whole API's OpenAPI document (chatbot_common.openapi), public like /health."""
    return load_document()


@router.get("/health", response_model=HealthResponse, summary="Liveness (no authentication)")
def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/models",
    response_model=ModelsResponse,
    responses=error_responses(401, 429, 500, 502),
    summary="Models the caller may choose (text output, streaming)",
)
def list_models(
    identity: CurrentIdentity,
    services: Services,
) -> ModelsResponse:
    table = services.chat.table
    models = [
        {**vars(model), "limits": model_limits(table.profile_for(model.id))}
        for model in services.catalog.models()
    ]
    return ModelsResponse.model_validate(
        {"models": models, "default_model": services.catalog.default_model_id()}
    )


def model_limits(profile: ModelProfile) -> dict[str, Any]:
    """The inference ranges a settings form offers for the model (chatbot_common.model_table),
    and its price per 1,000 tokens (null when unknown)."""
    sampling = profile.accepts_temperature
    return {
        "temperature": profile.temperature.model_dump() if sampling else None,
        "top_p": profile.top_p.model_dump() if sampling else None,
        "temperature_and_top_p": profile.accepts_both_temperature_and_top_p,
        "max_tokens": {"min": CONVERSE_MIN_MAX_TOKENS, "max": profile.max_output_tokens},
        "tools_by_default": profile.tools_by_default,
        "price": None
        if profile.price is None
        else {
            "input_per_1k": float(profile.price.input_per_1k),
            "output_per_1k": float(profile.price.output_per_1k),
            "as_of": profile.price.as_of.isoformat(),
            "source": profile.price.source,
        },
    }


@router.get(
    "/presets",
    response_model=PresetsResponse,
    responses=error_responses(401, 500),
    summary="Image-understanding presets",
)
def list_presets(identity: CurrentIdentity) -> PresetsResponse:
    return PresetsResponse.model_validate({"presets": IMAGE_PRESETS})
