"""GET /health, /openapi.json, /models, /presets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from chatbot_common.identity import Identity
from chatbot_common.openapi import load_document
from lambda_chat.domain.presets import IMAGE_PRESETS
from lambda_chat.schemas import (
    HealthResponse,
    ModelOut,
    ModelsResponse,
    PresetOut,
    PresetsResponse,
    error_responses,
)
from lambda_chat.services import ChatServices, current_identity, get_services

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
    identity: Identity = Depends(current_identity),  # noqa: B008
    services: ChatServices = Depends(get_services),  # noqa: B008
) -> ModelsResponse:
    models = services.catalog.models()
    return ModelsResponse(
        models=[ModelOut.of(model) for model in models], default_model=services.catalog.default_model_id()
    )


@router.get(
    "/presets",
    response_model=PresetsResponse,
    responses=error_responses(401, 500),
    summary="Image-understanding presets",
)
def list_presets(identity: Identity = Depends(current_identity)) -> PresetsResponse:  # noqa: B008
    return PresetsResponse(presets=[PresetOut.of(preset) for preset in IMAGE_PRESETS])
