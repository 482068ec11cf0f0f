"""Uploads and documents on the local stack: moto server (S3, DynamoDB) + scripted Bedrock runtime.

Both apps are the real ones (`create_app` with settings only), their boto3 clients pointed at the
local stack through the standard AWS_ENDPOINT_URL_* variables, exactly as `make run` does.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from chatbot_common.settings import Settings
from local_stack.bedrock_runtime import RunningRuntime
from local_stack.moto_service import MotoServer

TABLE = "chatbot-uploads-it"
BUCKET = "chatbot-uploads-it"
WEB_ORIGIN = "http://127.0.0.1:8000"
SCRIPTED_MODEL = "local.scripted"


@pytest.fixture(scope="session")
def uploads_moto(tmp_path_factory: pytest.TempPathFactory, dummy_aws_env: None) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto-uploads"), persist=False)
    server.start()
    server.ensure_resources(TABLE, BUCKET, [WEB_ORIGIN])
    yield server
    server.stop()


@dataclass
class Stack:
    moto: MotoServer
    runtime: RunningRuntime
    upload: TestClient
    chat: TestClient
    settings: Settings

    def s3(self) -> Any:
        return self.moto.client("s3")

    def upload_file(
        self,
        filename: str,
        data: bytes,
        content_type: str,
        purpose: str = "document",
        *,
        declared_size: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """What the browser does: ask for a presigned POST, then post multipart form data to S3."""
        created = self.upload.post(
            "/uploads",
            json={
                "filename": filename,
                "contentType": content_type,
                "size": declared_size if declared_size is not None else max(len(data), 1),
                "purpose": purpose,
            },
            headers=headers or {},
        )
        assert created.status_code == 200, created.text
        ticket = created.json()
        posted = httpx.post(
            ticket["url"],
            data=ticket["fields"],
            files={"file": (filename, io.BytesIO(data), content_type)},
            timeout=30,
        )
        assert posted.status_code in (200, 201, 204), posted.text
        return dict(ticket)

    def ready_upload(self, filename: str, data: bytes, content_type: str, purpose: str = "document") -> str:
        ticket = self.upload_file(filename, data, content_type, purpose)
        status = self.upload.get(f"/uploads/{ticket['uploadId']}").json()
        assert status["status"] == "ready", status
        return str(ticket["uploadId"])


@pytest.fixture(scope="module")
def stack(uploads_moto: MotoServer, scripted_runtime: RunningRuntime) -> Iterator[Stack]:
    from lambda_chat.app import create_app as create_chat_app
    from lambda_upload.app import create_app as create_upload_app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL_S3", uploads_moto.endpoint_url)
        mp.setenv("AWS_ENDPOINT_URL_DYNAMODB", uploads_moto.endpoint_url)
        mp.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", scripted_runtime.endpoint_url)
        mp.setenv("AWS_ENDPOINT_URL_BEDROCK", scripted_runtime.endpoint_url)
        # Small chunks so a few pages already make a multi-chunk map-reduce.
        mp.setenv("CHATBOT_SUMMARY_CHUNK_TOKENS", "400")
        mp.setenv("CHATBOT_SUMMARY_CONTEXT_TOKENS", "1500")
        mp.setenv("CHATBOT_PDF_MAX_PAGES", "500")
        settings = Settings(
            table_name=TABLE,
            uploads_bucket=BUCKET,
            local_mode=True,
            default_model_id=SCRIPTED_MODEL,
            allowed_model_ids=[SCRIPTED_MODEL],
            image_max_bytes=3_750_000,
            document_max_bytes=20 * 1024 * 1024,
            web_origin=WEB_ORIGIN,
        )
        with (
            TestClient(create_upload_app(settings)) as upload,
            TestClient(create_chat_app(settings), raise_server_exceptions=False) as chat,
        ):
            yield Stack(uploads_moto, scripted_runtime, upload, chat, settings)


@pytest.fixture
def scripted_reply(scripted_runtime: RunningRuntime) -> Iterator[Callable[[Any], None]]:
    """Set the scripted model's reply for one test; restored afterwards."""
    engine = scripted_runtime.engines[0]
    previous = engine.reply

    def set_reply(reply: Any) -> None:
        engine.reply = reply

    yield set_reply
    engine.reply = previous
