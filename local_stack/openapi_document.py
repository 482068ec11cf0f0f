"""`python -m local_stack.openapi_document [--check]` (`make openapi`): write (or check)
chatbot_common/openapi.json from the two apps (built with stand-in settings and no AWS calls)."""

from __future__ import annotations

import sys
from typing import Any

from chatbot_common.openapi import DOCUMENT_PATH, merge_openapi, render

TITLE = "Bedrock chatbot API"
DESCRIPTION = (
    "Chat with Amazon Bedrock models, keep conversations, upload documents and images. "
    'Errors: {"error": {"code", "message"}}; codes in docs/api.md.'
)


def build_document() -> dict[str, Any]:
    """The merged document of the chat and upload apps as the code defines them now."""
    from chatbot_common.settings import Settings
    from lambda_chat.app import create_app as chat_app
    from lambda_upload.app import create_app as upload_app

    settings = Settings(table_name="openapi-table", uploads_bucket="openapi-bucket")
    chat = chat_app(settings, store=_Unused(), model=_Unused(), model_directory=_Unused())  # type: ignore[arg-type]
    upload = upload_app(settings, service=_Unused())  # type: ignore[arg-type]
    return merge_openapi(
        [chat.openapi(), upload.openapi()], title=TITLE, version=chat.version, description=DESCRIPTION
    )


class _Unused:
    """Stands in for the store, model and services: building the document calls none of them."""


def main(argv: list[str]) -> int:
    text = render(build_document())
    if "--check" in argv:
        if DOCUMENT_PATH.read_text(encoding="utf-8") != text:
            print(f"{DOCUMENT_PATH} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
