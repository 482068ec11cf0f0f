"""Who is calling: read only from the authenticated request context.

In AWS, API Gateway's Cognito authorizer puts the verified claims in the request context and the
Lambda Web Adapter forwards that context as the JSON header ``x-amzn-request-context``. Nothing
else in a request (body, query, other headers) is trusted to name the user. The local runner
strips any client-sent copy of that header; a fixed development identity is used only when local
mode is explicitly enabled in settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatbot_common.errors import Unauthenticated

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
_SAFE_USER_ID = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")


@dataclass(frozen=True)
class Identity:
    user_id: str
    username: str | None = None
    request_id: str | None = None


def identity_from_headers(headers: Mapping[str, str], *, local_mode: bool, dev_user_id: str) -> Identity:
    """Resolve the caller from the forwarded API Gateway context, or the dev identity locally."""
    raw = headers.get(REQUEST_CONTEXT_HEADER)
    if raw:
        return identity_from_request_context(_parse_context(raw))
    if local_mode:
        return Identity(user_id=dev_user_id, username=dev_user_id)
    raise Unauthenticated("No authenticated identity on this request")


def identity_from_request_context(context: Mapping[str, Any]) -> Identity:
    """The caller from API Gateway's request context; Unauthenticated (401) for anything that is
    not an object at each level (`authorizer`, `claims`: a string or list there is no identity)."""
    authorizer = _object_or_empty(context.get("authorizer"))
    # REST API Cognito authorizers put claims under authorizer.claims; HTTP API JWT under jwt.claims.
    claims = _object_or_empty(authorizer.get("claims")) or _object_or_empty(
        _object_or_empty(authorizer.get("jwt")).get("claims")
    )
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not _SAFE_USER_ID.match(user_id):
        raise Unauthenticated("The request context carries no valid user identity")
    username = claims.get("cognito:username") or claims.get("username") or claims.get("email")
    request_id = context.get("requestId")
    return Identity(
        user_id=user_id,
        username=username if isinstance(username, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
    )


def _object_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _parse_context(raw: str) -> Mapping[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise Unauthenticated("Malformed request context") from exc
    if not isinstance(parsed, dict):
        raise Unauthenticated("Malformed request context")
    return parsed
