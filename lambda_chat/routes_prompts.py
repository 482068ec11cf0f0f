"""/prompts: the caller's saved prompts (create or replace with PUT, list, read, delete)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from chatbot_common.errors import NotFound
from chatbot_common.http import ID_SCHEMA
from lambda_chat.domain.prompts import PromptService
from lambda_chat.schemas import PromptIn, PromptList, PromptOut, error_responses
from lambda_chat.services import ChatServices, CurrentIdentity, Services

router = APIRouter(tags=["prompts"])

PromptId = Annotated[str, Path(alias="promptId", json_schema_extra=ID_SCHEMA)]


def _prompts(services: ChatServices) -> PromptService:
    if services.prompts is None:
        raise NotFound("Saved prompts are not available in this deployment")
    return services.prompts


@router.get(
    "/prompts",
    response_model=PromptList,
    responses=error_responses(401, 404, 429, 500, 502),
    summary="The caller's saved prompts, newest first (at most 100)",
)
def list_prompts(identity: CurrentIdentity, services: Services) -> PromptList:
    return PromptList.model_validate({"items": _prompts(services).list(identity.user_id)})


@router.get(
    "/prompts/{promptId}",
    response_model=PromptOut,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="One saved prompt",
)
def get_prompt(prompt_id: PromptId, identity: CurrentIdentity, services: Services) -> PromptOut:
    return PromptOut.model_validate(_prompts(services).get(identity.user_id, prompt_id))


@router.put(
    "/prompts/{promptId}",
    response_model=PromptOut,
    status_code=200,
    responses={
        201: {"description": "Created", "model": PromptOut},
        **error_responses(400, 401, 404, 409, 413, 415, 429, 500, 502),
    },
    summary="Create (201) or replace (200) a saved prompt; the client picks the id: a retry never duplicates",
)
def put_prompt(
    prompt_id: PromptId, body: PromptIn, identity: CurrentIdentity, services: Services, response: Response
) -> PromptOut:
    prompt, created = _prompts(services).put(identity.user_id, prompt_id, title=body.title, text=body.text)
    if created:
        response.status_code = 201
    return PromptOut.model_validate(prompt)


@router.delete(
    "/prompts/{promptId}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404, 429, 500, 502),
    summary="Delete a saved prompt",
)
def delete_prompt(prompt_id: PromptId, identity: CurrentIdentity, services: Services) -> Response:
    _prompts(services).delete(identity.user_id, prompt_id)
    return Response(status_code=204)
