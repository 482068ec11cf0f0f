"""A local stand-in for a Cognito user pool's token issuer: an RSA key, its JWKS, ID tokens.

Tokens carry the claims Cognito puts in an ID token (``sub``, ``cognito:username``, ``email``,
``token_use: id``, ``aud`` = app client id, ``iss`` = the pool's issuer URL) and are signed
RS256 with a ``kid`` from the JWKS, as Cognito's are (Cognito developer guide, "Verifying a JSON
Web Token"). JOSE work is joserfc's.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


def issuer_url(region: str, user_pool_id: str) -> str:
    """Cognito's issuer for a pool: ``https://cognito-idp.<region>.amazonaws.com/<pool id>``."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


class LocalIssuer:
    """Signs ID tokens for one user pool and app client; ``jwks`` is what the pool publishes."""

    def __init__(self, *, region: str, user_pool_id: str, client_id: str) -> None:
        self.issuer = issuer_url(region, user_pool_id)
        self.client_id = client_id
        self._key = RSAKey.generate_key(2048, parameters={"kid": f"rehearsal-{uuid.uuid4().hex[:8]}"})

    @property
    def jwks(self) -> dict[str, Any]:
        """The public JWKS (``/.well-known/jwks.json`` of the pool)."""
        return {"keys": [self._key.as_dict(private=False)]}

    def id_token(
        self, username: str, *, sub: str | None = None, lifetime_seconds: int = 3600, **claims: Any
    ) -> str:
        """A signed ID token for ``username``; a negative lifetime gives an expired one."""
        now = int(time.time())
        payload = {
            "sub": sub or str(uuid.uuid5(uuid.NAMESPACE_DNS, username)),
            "cognito:username": username,
            "email": f"{username}@example.com",
            "email_verified": True,
            "token_use": "id",
            "aud": self.client_id,
            "iss": self.issuer,
            "auth_time": now,
            "iat": now,
            "exp": now + lifetime_seconds,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": self._key.kid}, payload, self._key)


class TokenRejected(Exception):
    """The token is malformed, forged, expired, or for another pool or client."""


def verify_id_token(
    token: str, *, jwks: dict[str, Any], issuer: str, client_ids: list[str]
) -> dict[str, Any]:
    """What API Gateway's Cognito authorizer checks: signature against the pool's JWKS, expiry,
    issuer, ``token_use`` and audience. Returns the claims; raises TokenRejected."""
    from joserfc.errors import JoseError

    try:
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])  # type: ignore[arg-type]
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "values": client_ids},
            token_use={"essential": True, "value": "id"},
            exp={"essential": True},
            sub={"essential": True},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise TokenRejected(str(exc) or type(exc).__name__) from exc
    return dict(decoded.claims)
