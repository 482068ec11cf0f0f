"""The deployed artefacts, run the way AWS would run them (rehearsal/): through CloudFront's /api/*
behaviour and API Gateway's rules, into the real bundles started by their own run.sh."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from PIL import Image

from rehearsal.sandbox import FunctionStartError
from rehearsal.stack import Rehearsal


def _auth(rehearsal: Rehearsal, user: str) -> dict[str, str]:
    return {"Authorization": rehearsal.issuer.id_token(user)}


def _error(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def _sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.split("\n\n"):
        lines = [line for line in frame.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads(next(line[6:] for line in lines if line.startswith("data: ")))
        events.append((name, data))
    return events


def _upload(
    rehearsal: Rehearsal, headers: dict[str, str], name: str, content_type: str, data: bytes, purpose: str
) -> str:
    presign = httpx.post(
        f"{rehearsal.url}/api/uploads",
        headers=headers,
        json={"filename": name, "contentType": content_type, "size": len(data), "purpose": purpose},
        timeout=30,
    )
    assert presign.status_code == 200, presign.text
    ticket = presign.json()
    # The browser posts the form straight to S3 (here: moto), file last.
    posted = httpx.post(
        ticket["url"], data=ticket["fields"], files={"file": (name, data, content_type)}, timeout=30
    )
    assert posted.status_code in (200, 204), posted.text
    upload_id: str = ticket["uploadId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = httpx.get(f"{rehearsal.url}/api/uploads/{upload_id}", headers=headers, timeout=30)
        assert status.status_code == 200, status.text
        if status.json()["status"] == "ready":
            return upload_id
        assert status.json()["status"] == "pending", status.json()
        time.sleep(0.2)
    raise AssertionError("upload never became ready")


def test_signed_in_chat_answers_json(rehearsal: Rehearsal) -> None:
    response = httpx.post(
        f"{rehearsal.url}/api/chat", headers=_auth(rehearsal, "alice"), json={"message": "hello"}, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "echo: hello"
    assert body["conversationId"] and body["model"] == "us.amazon.nova-lite-v1:0"


def test_signed_in_chat_streams_server_sent_events(rehearsal: Rehearsal) -> None:
    with httpx.stream(
        "POST",
        f"{rehearsal.url}/api/chat",
        headers={**_auth(rehearsal, "alice"), "Accept": "text/event-stream"},
        json={"message": "stream me please"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = _sse_events(text)
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-1] == "done"
    assert "".join(data["text"] for name, data in events if name == "delta") == "echo: stream me please"


def test_stage_url_answers_like_the_web_path(rehearsal: Rehearsal) -> None:
    stage = rehearsal.gateway.api.stage
    response = httpx.get(f"{rehearsal.url}/{stage}/models", headers=_auth(rehearsal, "alice"), timeout=30)
    assert response.status_code == 200
    ids = {m["id"] for m in response.json()["models"]}
    allowed = rehearsal.function("lambda_chat").environment["CHATBOT_ALLOWED_MODEL_IDS"].split(",")
    assert ids == set(allowed)


def test_preset_image_turn_with_an_empty_message_reaches_the_model(rehearsal: Rehearsal) -> None:
    headers = _auth(rehearsal, "alice")
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png, format="PNG")
    upload_id = _upload(rehearsal, headers, "red.png", "image/png", png.getvalue(), "image")
    # When the web client sends an image with a preset and no text (message "")
    response = httpx.post(
        f"{rehearsal.url}/api/chat",
        headers=headers,
        json={
            "message": "",
            "model": "us.amazon.nova-lite-v1:0",
            "attachments": [upload_id],
            "preset": "caption",
        },
        timeout=60,
    )
    # Then API Gateway's model lets it through and the preset's prompt reaches the model
    assert response.status_code == 200, response.text
    assert "caption" in response.json()["answer"].lower()


def test_upload_then_summary(rehearsal: Rehearsal) -> None:
    headers = _auth(rehearsal, "alice")
    text = ("DynamoDB stores one item per message. " * 40).encode()
    upload_id = _upload(rehearsal, headers, "notes.txt", "text/plain", text, "document")
    response = httpx.post(
        f"{rehearsal.url}/api/documents/{upload_id}/summary", headers=headers, json={}, timeout=120
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chunks"] >= 1 and body["summary"]


def test_presigned_post_targets_the_templates_bucket(rehearsal: Rehearsal) -> None:
    response = httpx.post(
        f"{rehearsal.url}/api/uploads",
        headers=_auth(rehearsal, "alice"),
        json={"filename": "a.txt", "contentType": "text/plain", "size": 3, "purpose": "document"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["url"].endswith("/" + rehearsal.bucket)


def test_missing_token_is_401(rehearsal: Rehearsal) -> None:
    response = httpx.get(f"{rehearsal.url}/api/conversations", timeout=30)
    assert response.status_code == 401 and _error(response) == "unauthenticated"


def test_expired_token_is_401(rehearsal: Rehearsal) -> None:
    token = rehearsal.issuer.id_token("alice", lifetime_seconds=-60)
    response = httpx.get(f"{rehearsal.url}/api/conversations", headers={"Authorization": token}, timeout=30)
    assert response.status_code == 401 and _error(response) == "unauthenticated"


def test_forged_token_is_401(rehearsal: Rehearsal) -> None:
    # Same claims, same kid, signed by a key that is not the pool's
    genuine = rehearsal.issuer.id_token("alice")
    claims = jwt.decode(genuine, RSAKey.import_key(rehearsal.issuer.jwks["keys"][0])).claims
    forger = RSAKey.generate_key(2048, parameters={"kid": rehearsal.issuer.jwks["keys"][0]["kid"]})
    forged = jwt.encode({"alg": "RS256", "kid": forger.kid}, claims, forger)
    response = httpx.get(f"{rehearsal.url}/api/conversations", headers={"Authorization": forged}, timeout=30)
    assert response.status_code == 401 and _error(response) == "unauthenticated"


def test_token_for_another_app_client_is_401(rehearsal: Rehearsal) -> None:
    token = rehearsal.issuer.id_token("alice", aud="some-other-client")
    response = httpx.get(f"{rehearsal.url}/api/conversations", headers={"Authorization": token}, timeout=30)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/nope"), ("PUT", "/api/chat"), ("GET", "/api/chat")]
)
def test_unknown_route_is_the_documented_404(rehearsal: Rehearsal, method: str, path: str) -> None:
    response = httpx.request(method, rehearsal.url + path, headers=_auth(rehearsal, "alice"), timeout=30)
    assert response.status_code == 404 and _error(response) == "not_found"


def test_body_refused_by_the_api_model_is_400_before_the_lambda(rehearsal: Rehearsal) -> None:
    response = httpx.post(
        f"{rehearsal.url}/api/uploads",
        headers=_auth(rehearsal, "alice"),
        json={"filename": "a.txt", "contentType": "text/plain", "size": 3, "purpose": "video"},
        timeout=30,
    )
    assert response.status_code == 400 and _error(response) == "invalid_request"
    assert response.headers["x-amzn-errortype"] == "BAD_REQUEST_BODY"


def test_two_users_are_isolated(rehearsal: Rehearsal) -> None:
    alice, bob = _auth(rehearsal, "alice-iso"), _auth(rehearsal, "bob-iso")
    created = httpx.post(
        f"{rehearsal.url}/api/chat", headers=alice, json={"message": "secret plan"}, timeout=60
    )
    conversation_id = created.json()["conversationId"]
    assert (
        httpx.get(
            f"{rehearsal.url}/api/conversations/{conversation_id}", headers=alice, timeout=30
        ).status_code
        == 200
    )
    # Bob cannot read, rename, delete or continue it, nor see it listed
    assert (
        httpx.get(f"{rehearsal.url}/api/conversations/{conversation_id}", headers=bob, timeout=30).status_code
        == 404
    )
    listed = httpx.get(f"{rehearsal.url}/api/conversations", headers=bob, timeout=30).json()
    assert conversation_id not in json.dumps(listed)
    deleted = httpx.delete(f"{rehearsal.url}/api/conversations/{conversation_id}", headers=bob, timeout=30)
    assert deleted.status_code == 404
    # and a request-context header a client forges is replaced by the authorizer's
    forged_context = json.dumps({"authorizer": {"claims": {"sub": "alice-sub-forged"}}})
    spoof = httpx.get(
        f"{rehearsal.url}/api/conversations/{conversation_id}",
        headers={**bob, "x-amzn-request-context": forged_context},
        timeout=30,
    )
    assert spoof.status_code == 404


def test_functions_run_on_the_runtime_python_with_nothing_from_the_repository(rehearsal: Rehearsal) -> None:
    for logical_id, sandbox in rehearsal.sandboxes.items():
        env = sandbox.process_environment()
        assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env
        assert ".venv" not in env["PATH"]
        # exactly the template's variables (plus what Lambda sets and the local endpoints)
        spec = rehearsal.specs[logical_id]
        for name, value in spec.environment.items():
            if name not in ("AWS_LWA_PORT", "PORT"):
                assert env[name] == value, name
        assert env["LAMBDA_TASK_ROOT"] == str(spec.bundle_dir)
        assert spec.bundle_dir.parent == rehearsal.assembly_dir  # the synthesized asset itself


def _bundle_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def test_a_removed_bundle_dependency_fails_the_rehearsal(rehearsal: Rehearsal, tmp_path: Path) -> None:
    spec = rehearsal.function("lambda_upload")
    # Given the upload bundle without a dependency it imports at start-up (its settings library;
    # charset-normalizer, which it once lacked, is now imported on first use and the upload tests
    # through the rehearsal exercise it)
    bundle = _bundle_copy(spec.bundle_dir, tmp_path / "bundle")
    shutil.rmtree(bundle / "pydantic_settings")
    sandbox = rehearsal.sandbox(spec, bundle_dir=bundle)
    # Then the function never becomes ready, and says why
    with pytest.raises(FunctionStartError, match="pydantic_settings"):
        try:
            sandbox.start(timeout=60)
        finally:
            sandbox.cleanup()


def test_a_removed_template_environment_variable_fails_the_rehearsal(rehearsal: Rehearsal) -> None:
    spec = rehearsal.function("lambda_chat")
    environment = {k: v for k, v in spec.environment.items() if k != "CHATBOT_TABLE_NAME"}
    sandbox = rehearsal.sandbox(spec, environment=environment)
    with pytest.raises(FunctionStartError, match="table_name"):
        try:
            sandbox.start(timeout=60)
        finally:
            sandbox.cleanup()
