"""Upload service ASGI app: presigned POST uploads straight to S3, and their status.

The same app object runs under the AWS Lambda Web Adapter and under uvicorn locally. Routes are
thin: validate input, call one domain function, shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from pydantic import Field

from chatbot_common.aws_clients import AwsClients, create_clients
from chatbot_common.http import (
    ID_SCHEMA,
    ApiModel,
    ApiRequest,
    RequestSizeLimit,
    error_responses,
    identity_dependency,
    install_error_handlers,
    install_request_logging,
)
from chatbot_common.identity import Identity
from chatbot_common.logs import route_package_loggers
from chatbot_common.observability_names import UPLOAD_SERVICE_NAME
from chatbot_common.settings import Settings, get_settings
from chatbot_common.upload_records import DynamoUploadRecords
from chatbot_common.uploads import UploadRecord
from lambda_upload.adapters import S3UploadObjects
from lambda_upload.domain import UploadLimits, UploadService

logger = Logger(service=UPLOAD_SERVICE_NAME)
# Packages whose stdlib loggers write through the app's Powertools logger.
APP_PACKAGES = ("lambda_upload", "chatbot_common")


class CreateUploadRequest(ApiRequest):
    filename: str = Field(min_length=1, max_length=4096)
    content_type: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0)
    purpose: Literal["document", "image"]


class CreateUploadResponse(ApiModel):
    upload_id: str
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


class UploadStatusResponse(ApiModel):
    upload_id: str
    status: Literal["pending", "ready", "rejected"]
    filename: str
    purpose: Literal["document", "image"]
    content_type: str
    size: int  # measured once the object arrived, else the declared size
    detected_type: str | None
    reason: str | None


def _status_response(record: UploadRecord) -> UploadStatusResponse:
    size = record.size if record.size is not None else record.declared_size
    return UploadStatusResponse.model_validate({**vars(record), "size": size})


def build_upload_service(settings: Settings, clients: AwsClients) -> UploadService:
    """Wire the domain service to S3 and DynamoDB."""
    limits = UploadLimits(
        image_max_bytes=settings.image_max_bytes,
        document_max_bytes=settings.document_max_bytes,
        url_expiry_seconds=settings.upload_url_expiry_seconds,
        retention_days=settings.retention_days,
    )
    return UploadService(
        S3UploadObjects(clients.s3, settings.uploads_bucket),
        DynamoUploadRecords(clients.dynamodb, settings.table_name),
        limits,
    )


def current_identity(request: Request) -> Identity:
    """The caller, from the authenticated request context only (chatbot_common.identity)."""
    resolve: Callable[[Request], Identity] = request.app.state.identity
    return resolve(request)


def upload_service(request: Request) -> UploadService:
    service: UploadService = request.app.state.uploads
    return service


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
Uploads = Annotated[UploadService, Depends(upload_service)]

router = APIRouter(tags=["uploads"])


@router.get("/health", include_in_schema=False)  # API Gateway routes /health to the chat app
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post(
    "/uploads",
    response_model=CreateUploadResponse,
    responses=error_responses(400, 401, 413, 415, 429, 500, 502),
)
def create_upload(
    body: CreateUploadRequest, identity: CurrentIdentity, uploads: Uploads
) -> CreateUploadResponse:
    """Reserve an upload and return a presigned POST pinned to its key, type and size range."""
    ticket = uploads.presign_upload(
        identity.user_id,
        filename=body.filename,
        content_type=body.content_type,
        size=body.size,
        purpose=body.purpose,
    )
    return CreateUploadResponse(
        upload_id=ticket.record.upload_id,
        url=ticket.post.url,
        fields=ticket.post.fields,
        key=ticket.record.key,
        expires_in=ticket.expires_in,
        max_bytes=ticket.max_bytes,
    )


@router.get(
    "/uploads/{uploadId}",
    response_model=UploadStatusResponse,
    responses=error_responses(400, 401, 404, 429, 500, 502),
)
def get_upload(
    upload_id: Annotated[str, Path(alias="uploadId", json_schema_extra=ID_SCHEMA)],
    identity: CurrentIdentity,
    uploads: Uploads,
) -> UploadStatusResponse:
    """Status of an upload: pending until the object arrives, then ready or rejected (with reason)."""
    return _status_response(uploads.upload_status(identity.user_id, upload_id))


class ViewUrlResponse(ApiModel):
    url: str = Field(description="Presigned GET of the image (inline); only for the owner, short-lived")
    expires_in: int = Field(description="Seconds the URL stays valid")
    content_type: str


@router.get(
    "/uploads/{uploadId}/view-url",
    response_model=ViewUrlResponse,
    responses=error_responses(400, 401, 404, 409, 429, 500, 502),
    summary="A short-lived presigned GET of one of the caller's images (thumbnails in history)",
)
def get_view_url(
    upload_id: Annotated[str, Path(alias="uploadId", json_schema_extra=ID_SCHEMA)],
    identity: CurrentIdentity,
    uploads: Uploads,
) -> ViewUrlResponse:
    view = uploads.view_url(identity.user_id, upload_id)
    return ViewUrlResponse(url=view.url, expires_in=view.expires_in, content_type=view.content_type)


def create_app(
    settings: Settings | None = None,
    *,
    service: UploadService | None = None,
    clients: AwsClients | None = None,
) -> FastAPI:
    """Build the upload app; settings are validated and AWS clients created here, at start-up
    (default: `create_clients(settings.region)`, boto3's own credential chain)."""
    settings = settings or get_settings()
    route_package_loggers(logger, APP_PACKAGES)
    # The whole API's OpenAPI document is the chat app's GET /openapi.json (chatbot_common.openapi).
    app = FastAPI(
        title="Bedrock chatbot uploads",
        version="0.1.0",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # as the chat app: a trailing slash is a 404, not a redirect
    )
    app.state.uploads = service or build_upload_service(settings, clients or create_clients(settings.region))
    app.state.identity = identity_dependency(settings)
    install_error_handlers(app, logger)
    install_request_logging(app, logger)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.include_router(router)
    return app


def __getattr__(name: str) -> Any:
    # `lambda_upload.app:app` for uvicorn and the Web Adapter, built on first access rather than at
    # import so that importing this module (tests, tooling) needs no environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
