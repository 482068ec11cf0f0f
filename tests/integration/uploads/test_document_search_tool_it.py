"""search_documents through POST /chat on the local stack: real uploads (presigned POST to moto
S3, records in DynamoDB), two users, the scripted model's `#call` cue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot_common.keys import new_id
from lambda_chat.app import create_app as create_chat_app
from lambda_upload.app import create_app as create_upload_app
from tests.integration.chat.conftest import identity_headers
from tests.integration.uploads.conftest import Stack

SEARCH = '#call search_documents {"query": "pelican launch code", "scope": "all"}'


@pytest.fixture(scope="module")
def two_user_stack(stack: Stack) -> Iterator[Stack]:
    """The same stack with identities from the request context (not the local dev user)."""
    settings = stack.settings.model_copy(update={"local_mode": False})
    with (
        TestClient(create_upload_app(settings)) as upload,
        TestClient(create_chat_app(settings), raise_server_exceptions=False) as chat,
    ):
        yield Stack(stack.moto, stack.runtime, upload, chat, settings)


def _upload(stack: Stack, headers: dict[str, str], name: str, text: str) -> str:
    ticket = stack.upload_file(name, text.encode(), "text/plain", headers=headers)
    status = stack.upload.get(f"/uploads/{ticket['uploadId']}", headers=headers).json()
    assert status["status"] == "ready", status
    return str(ticket["uploadId"])


def _search(stack: Stack, headers: dict[str, str]) -> dict[str, Any]:
    response = stack.chat.post("/chat", json={"message": f"Find it.\n{SEARCH}"}, headers=headers)
    assert response.status_code == 200, response.text
    [call] = response.json()["toolCalls"]
    assert call["name"] == "search_documents" and call["status"] == "success", call
    return dict(json.loads(call["output"]))


def test_a_document_search_never_sees_another_users_files(two_user_stack: Stack) -> None:
    alice, bob = identity_headers(f"alice-{new_id()}"), identity_headers(f"bob-{new_id()}")
    _upload(two_user_stack, bob, "secret-plan.txt", "The pelican launch code is TANGERINE-42.\n" * 3)
    _upload(two_user_stack, alice, "birds.txt", "A pelican was seen near the harbour on Tuesday.\n" * 3)
    # Alice's search finds her document only
    found = json.dumps(_search(two_user_stack, alice))
    assert "birds.txt" in found
    assert "secret-plan" not in found and "TANGERINE" not in found
    # Bob's search finds his
    found = json.dumps(_search(two_user_stack, bob))
    assert "secret-plan.txt" in found and "TANGERINE-42" in found and "birds.txt" not in found
