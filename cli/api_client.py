"""A small client for the chatbot's REST API (docs/api.md): the local stack or a deployed stage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from cli.sse import ServerEvent, read_events


class ApiError(Exception):
    """An error answer (`{"error": {"code", "message"}}`), a failed connection, or a stream `error` event."""

    def __init__(self, message: str, *, code: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        where = f", HTTP {self.status}" if self.status else ""
        return f"{self.message} ({self.code}{where})"


def error_from_response(response: httpx.Response) -> ApiError:
    """The API's error body when there is one; otherwise what an intermediary (API Gateway) said."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ApiError(
            str(error.get("message", "")), code=str(error.get("code", "error")), status=response.status_code
        )
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        # API Gateway's own answers (authorizer rejection, throttling) look like {"message": "..."}.
        return ApiError(
            body["message"], code=_code_for_status(response.status_code), status=response.status_code
        )
    text = response.text.strip()[:200] or response.reason_phrase
    return ApiError(text, code=_code_for_status(response.status_code), status=response.status_code)


def _code_for_status(status: int) -> str:
    return {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "throttled"}.get(
        status, "http_error"
    )


class ChatbotApi:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "chatbot-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatbotApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.base_url}: {exc}", code="connection_error") from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/chat", json=body)
        return result

    def chat_stream(self, body: dict[str, Any]) -> Iterator[ServerEvent]:
        """POST /chat as Server-Sent Events; closing the iterator early hangs up (the server stops)."""
        return self._event_stream("/chat", body)

    def compare_stream(self, body: dict[str, Any]) -> Iterator[ServerEvent]:
        """POST /compare as Server-Sent Events (lanes multiplexed); closing early stops every lane."""
        return self._event_stream("/compare", body)

    def _event_stream(self, path: str, body: dict[str, Any]) -> Iterator[ServerEvent]:
        """POST `path` with `Accept: text/event-stream`; an error status raises ApiError."""
        headers = {"Accept": "text/event-stream"}
        try:
            with self._http.stream("POST", path, json=body, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                yield from read_events(response)
        except httpx.HTTPError as exc:
            raise ApiError(f"stream from {self.base_url} failed: {exc}", code="connection_error") from exc

    def compare(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/compare", json=body)
        return result

    def list_conversations(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        result: dict[str, Any] = self._request("GET", "/conversations", params=params)
        return result

    def get_conversation(
        self, conversation_id: str, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        result: dict[str, Any] = self._request(
            "GET", f"/conversations/{quote(conversation_id, safe='')}", params=params
        )
        return result

    def list_models(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/models")
        return result
