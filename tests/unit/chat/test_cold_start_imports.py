"""Cold start: the chat app imports no document or image parser; they load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

PARSERS = ("PIL", "pypdf", "docx", "openpyxl", "langchain_text_splitters")


def test_importing_the_chat_app_loads_no_document_or_image_parser() -> None:
    code = (
        "import json, sys, lambda_chat.app; "
        f"print(json.dumps([m for m in {list(PARSERS)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
