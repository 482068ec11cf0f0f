"""Upload service ASGI app: presigned POST uploads straight to S3, and their status.

The same app object runs under the AWS Lambda Web Adapter and under uvicorn locally. Routes are
thin: validate input, call one domain function, shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from chatbot_common.http import (
    RequestSizeLimit,
    identity_dependency,
    install_error_handlers,
    install_request_logging,
)
from chatbot_common.identity import Identity
from chatbot_common.settings import Settings, get_settings
from chatbot_common.uploads import UploadRecord
from lambda_upload.adapters import DynamoUploadRecords, S3UploadObjects
from lambda_upload.domain import UploadLimits, UploadService

logger = Logger(service="upload")


class CreateUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=4096)
    contentType: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0)
    purpose: Literal["document", "image"]


class CreateUploadResponse(BaseModel):
    uploadId: str
    url: str
    fields: dict[str, str]
    key: str
    expiresIn: int
    maxBytes: int


class UploadStatusResponse(BaseModel):
    uploadId: str
    status: Literal["pending", "ready", "rejected"]
    filename: str
    purpose: Literal["document", "image"]
    contentType: str
    size: int
    detectedType: str | None
    reason: str | None


def _status_response(record: UploadRecord) -> UploadStatusResponse:
    return UploadStatusResponse(
        uploadId=record.upload_id,
        status=record.status,
        filename=record.filename,
        purpose=record.purpose,
        contentType=record.content_type,
        size=record.size if record.size is not None else record.declared_size,
        detectedType=record.detected_type,
        reason=record.reason,
    )


# Presigned POSTs name the regional virtual-hosted endpoint, <bucket>.s3.<region>.amazonaws.com.
# botocore's default is the global <bucket>.s3.amazonaws.com, which a new bucket outside us-east-1
# answers with redirects for up to 24 hours (regions launched after March 2019 refuse it), and a
# browser cannot follow a redirected CORS preflight (S3 user guide, "Virtual hosting of buckets"
# and "Making requests to Amazon S3 over IPv6/regional endpoints"). An endpoint override (moto)
# still gets path-style URLs: botocore falls back to them for IP-address endpoints.
S3_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    signature_version="s3v4",
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
)


def build_upload_service(
    settings: Settings, *, s3_client: Any = None, dynamodb_client: Any = None
) -> UploadService:
    """Wire the domain service to S3 and DynamoDB; clients are created once, here."""
    s3 = s3_client or boto3.client("s3", region_name=settings.region, config=S3_CLIENT_CONFIG)
    ddb = dynamodb_client or boto3.client("dynamodb", region_name=settings.region)
    limits = UploadLimits(
        image_max_bytes=settings.image_max_bytes,
        document_max_bytes=settings.document_max_bytes,
        url_expiry_seconds=settings.upload_url_expiry_seconds,
        retention_days=settings.retention_days,
    )
    return UploadService(
        S3UploadObjects(s3, settings.uploads_bucket), DynamoUploadRecords(ddb, settings.table_name), limits
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


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/uploads", response_model=CreateUploadResponse)
def create_upload(
    body: CreateUploadRequest, identity: CurrentIdentity, uploads: Uploads
) -> CreateUploadResponse:
    """Reserve an upload and return a presigned POST pinned to its key, type and size range."""
    ticket = uploads.presign_upload(
        identity.user_id,
        filename=body.filename,
        content_type=body.contentType,
        size=body.size,
        purpose=body.purpose,
    )
    return CreateUploadResponse(
        uploadId=ticket.record.upload_id,
        url=ticket.post.url,
        fields=ticket.post.fields,
        key=ticket.record.key,
        expiresIn=ticket.expires_in,
        maxBytes=ticket.max_bytes,
    )


@router.get("/uploads/{uploadId}", response_model=UploadStatusResponse)
def get_upload(
    upload_id: Annotated[str, Path(alias="uploadId")], identity: CurrentIdentity, uploads: Uploads
) -> UploadStatusResponse:
    """Status of an upload: pending until the object arrives, then ready or rejected (with reason)."""
    return _status_response(uploads.upload_status(identity.user_id, upload_id))


def create_app(
    settings: Settings | None = None,
    *,
    service: UploadService | None = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
) -> FastAPI:
    """Build the upload app; settings are validated and AWS clients created here, at start-up."""
    settings = settings or get_settings()
    app = FastAPI(title="Bedrock chatbot uploads", version="0.1.0")
    app.state.uploads = service or build_upload_service(
        settings, s3_client=s3_client, dynamodb_client=dynamodb_client
    )
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
