"""GET /health, /models, /presets."""

from __future__ import annotations

from fastapi import APIRouter

from lambda_chat.domain.presets import IMAGE_PRESETS
from lambda_chat.schemas import (
    HealthResponse,
    ModelsResponse,
    PresetsResponse,
    error_responses,
)
from lambda_chat.services import CurrentIdentity, Services

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=HealthResponse, summary="Liveness (no authentication)")
def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/models",
    response_model=ModelsResponse,
    responses=error_responses(401, 502),
    summary="Models the caller may choose (text output, streaming)",
)
def list_models(
    identity: CurrentIdentity,
    services: Services,
) -> ModelsResponse:
    models = services.catalog.models()
    return ModelsResponse.model_validate(
        {"models": models, "default_model": services.catalog.default_model_id()}
    )


@router.get(
    "/presets",
    response_model=PresetsResponse,
    responses=error_responses(401),
    summary="Image-understanding presets",
)
def list_presets(identity: CurrentIdentity) -> PresetsResponse:
    return PresetsResponse.model_validate({"presets": IMAGE_PRESETS})
