"""Upload service ASGI app: presigned POST uploads straight to S3, and their status.

The same app object runs under the AWS Lambda Web Adapter and under uvicorn locally.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from fastapi import FastAPI

from chatbot_common.http import install_error_handlers, install_request_logging
from chatbot_common.settings import Settings, get_settings

logger = Logger(service="upload")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the upload app; settings are validated here, at start-up."""
    settings = settings or get_settings()
    app = FastAPI(title="Bedrock chatbot uploads", version="0.1.0")
    install_error_handlers(app, logger)
    install_request_logging(app, logger)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
