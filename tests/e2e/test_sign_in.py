"""Sign-in with the authorization code grant and PKCE, against a stand-in for Cognito's managed login.

The local stack runs in local mode (it ignores tokens), so the page is given an `auth` config by
intercepting /config.json, and a small OAuth server on 127.0.0.1 plays Cognito: it checks the
PKCE verifier against the challenge exactly as Cognito does (S256).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e

CLIENT_ID = "e2e-client"
EMAIL = "ana@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(claims: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.sig"


@dataclass
class FakeCognito:
    """Records what the browser sent; issues a fresh ID token on every grant."""

    url: str = ""
    authorize_queries: list[dict[str, str]] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def tokens(self) -> dict[str, Any]:
        id_token = fake_jwt(
            {"sub": "user-1", "email": EMAIL, "exp": int(time.time()) + 3600, "n": len(self.issued)}
        )
        self.issued.append(id_token)
        return {
            "id_token": id_token,
            "access_token": "access",
            "refresh_token": "refresh-1",
            "expires_in": 3600,
        }

    def token_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.grants.append(form)
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client"}
        if form.get("grant_type") == "refresh_token":
            return (
                (200, self.tokens())
                if form.get("refresh_token") == "refresh-1"
                else (400, {"error": "invalid_grant"})
            )
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or form.get("redirect_uri") != pending["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge != pending["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, self.tokens()


@pytest.fixture
def cognito() -> Iterator[FakeCognito]:
    fake = FakeCognito()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def reply(self, status: int, body: dict[str, Any] | None = None, location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", "*")
            if location:
                self.send_header("Location", location)
            payload = json.dumps(body or {}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            if parsed.path == "/oauth2/authorize":
                fake.authorize_queries.append(query)
                code = secrets.token_urlsafe(8)
                fake.codes[code] = query
                target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self.reply(302, location=target)
            elif parsed.path == "/logout":
                fake.logouts.append(query)
                self.reply(302, location=query["logout_uri"])
            else:
                self.reply(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlparse(self.path).path != "/oauth2/token":
                self.reply(404)
                return
            status, body = fake.token_grant(form)
            self.reply(status, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def test_sign_in_with_pkce_sends_the_token_refreshes_it_and_signs_out(
    page: Any, stack: Any, cognito: FakeCognito
) -> None:
    # Given a deployment whose config names a Cognito managed login
    config = {
        "apiBase": "/api",
        "localMode": False,
        "auth": {
            "region": "us-east-1",
            "userPoolId": "us-east-1_e2e",
            "clientId": CLIENT_ID,
            "domain": cognito.url,
            "redirectUri": f"{stack.url}/",
        },
    }
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    authorizations: list[str | None] = []

    def on_request(request: Any) -> None:
        if "/api/" in request.url:
            authorizations.append(request.headers.get("authorization"))

    page.on("request", on_request)

    # When the page is opened, it asks to sign in and sends nothing to the API
    page.goto("/#/")
    sign_in = page.get_by_role("button", name="Sign in")
    expect(sign_in).to_be_visible()
    assert authorizations == []
    shot(page, "sign-in")

    # When the person signs in on the managed login page
    sign_in.click()

    # Then the page comes back signed in, with the code exchanged using the PKCE verifier
    expect(page.get_by_text(EMAIL)).to_be_visible()
    query = cognito.authorize_queries[0]
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["client_id"] == CLIENT_ID and "openid" in query["scope"].split()
    assert cognito.grants[0]["grant_type"] == "authorization_code"
    assert 43 <= len(cognito.grants[0]["code_verifier"]) <= 128
    assert "code=" not in page.url, "the authorization code must be removed from the address bar"
    # and every API call carries the ID token
    # (the list has loaded: it says so when it is empty)
    expect(page.get_by_role("navigation", name="Conversation history")).to_contain_text(
        "No conversations yet."
    )
    page.wait_for_load_state("networkidle")
    assert authorizations and all(a == f"Bearer {cognito.issued[0]}" for a in authorizations)

    # When the API answers 401 once (token expired), the page refreshes the token and retries
    rejected: list[str] = []

    def expire_once(route: Any) -> None:
        if not rejected:
            rejected.append(route.request.url)
            route.fulfill(status=401, json={"error": {"code": "unauthenticated", "message": "Token expired"}})
        else:
            route.continue_()

    page.route(re.compile(r".*/api/chat$"), expire_once)
    box = page.get_by_role("textbox", name="Message")
    box.fill("hello after refresh")
    box.press("Enter")
    expect(page.locator(".msg.assistant .markdown")).to_have_text("echo: hello after refresh")
    assert [g["grant_type"] for g in cognito.grants] == ["authorization_code", "refresh_token"]
    assert authorizations[-1] == f"Bearer {cognito.issued[-1]}"
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()

    # When the API keeps refusing, the person is told they are signed out and offered to sign in
    page.route(
        re.compile(r".*/api/chat$"),
        lambda route: route.fulfill(status=401, json={"error": {"code": "unauthenticated", "message": "no"}}),
    )
    box.fill("are you there")
    box.press("Enter")
    alert = page.get_by_role("alert").filter(has_text="signed out")
    expect(alert).to_be_visible()
    expect(alert.get_by_role("button", name="Sign in")).to_be_visible()
    expect(box).to_have_value("are you there")
    shot(page, "signed-out-alert")

    # When they sign out, the tokens are dropped and the managed logout is used
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert cognito.logouts and cognito.logouts[0]["client_id"] == CLIENT_ID
    assert page.evaluate("sessionStorage.getItem('chat.auth.tokens')") is None
