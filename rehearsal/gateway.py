"""A small gateway that does what the template tells API Gateway and CloudFront to do.

- CloudFront: requests under the ``/api/*`` behaviour run the template's CloudFront Function
  (viewer request) and go to the API origin under its origin path (the stage).
- API Gateway (REST): routes and methods from the template's resources; the Cognito authorizer
  (an ID token verified against the user pool's JWKS: signature, expiry, issuer, audience); body
  validation against the method's request model with a JSON Schema draft 4 validator when the
  method's validator asks for it; gateway responses (status code and body template) for the
  errors API Gateway answers itself.
- Lambda Web Adapter: the request goes to the function's HTTP server with the stage-less path,
  and ``x-amzn-request-context`` set (replacing any client copy) to API Gateway's request
  context, authorizer claims as strings under ``authorizer.claims``.

Requests straight to ``/<stage>/...`` skip CloudFront, like calls to the stage URL.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft4Validator
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from rehearsal.cloudfront import CloudFrontFunction
from rehearsal.issuer import TokenRejected, verify_id_token
from rehearsal.template import Resolver, Template

# API Gateway's own status codes and messages where a gateway response does not set them
# (API Gateway developer guide, "Gateway response types").
DEFAULT_STATUS = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "REQUEST_TOO_LARGE": 413,
    "THROTTLED": 429,
    "INTEGRATION_FAILURE": 504,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500,
}
DEFAULT_MESSAGE = {
    "UNAUTHORIZED": "Unauthorized",
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "BAD_REQUEST_BODY": "Invalid request body",
    "INTEGRATION_FAILURE": "Internal server error",
}
# Hop-by-hop headers are the connection's, not the message's (RFC 9110, section 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
_CONTEXT_HEADERS = {"x-amzn-request-context", "x-amzn-lambda-context"}


@dataclass(frozen=True)
class Method:
    http_method: str
    resource_path: str
    pattern: re.Pattern[str]
    authorization: str
    model_schema: dict[str, Any] | None
    validate_body: bool
    function: str


@dataclass(frozen=True)
class Authorizer:
    jwks: dict[str, Any]
    issuer: str
    client_ids: list[str]


def _path_pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
    return re.compile(f"^{regex}$")


class ApiDefinition:
    """The REST API of a template: methods, authorizer, gateway responses, stage, CloudFront."""

    def __init__(self, template: Template, resolver: Resolver, authorizer: Authorizer) -> None:
        self.template = template
        self.authorizer = authorizer
        resources = template.resources
        (self.api_id,) = template.of_type("AWS::ApiGateway::RestApi")
        (stage,) = template.of_type("AWS::ApiGateway::Stage").values()
        self.stage = stage["Properties"]["StageName"]
        self.gateway_responses = {
            v["Properties"]["ResponseType"]: v["Properties"]
            for v in template.of_type("AWS::ApiGateway::GatewayResponse").values()
        }
        validators = {
            k: bool(v["Properties"].get("ValidateRequestBody"))
            for k, v in template.of_type("AWS::ApiGateway::RequestValidator").items()
        }
        aliases = {
            k: v["Properties"]["FunctionName"]["Ref"]
            for k, v in template.of_type("AWS::Lambda::Alias").items()
        }
        paths = self._resource_paths()
        self.methods: list[Method] = []
        for props in (v["Properties"] for v in template.of_type("AWS::ApiGateway::Method").values()):
            ref = props["ResourceId"].get("Ref") if isinstance(props["ResourceId"], dict) else None
            path = paths.get(ref, "/") if ref else "/"
            model_ref = (props.get("RequestModels") or {}).get("application/json")
            schema = resources[model_ref["Ref"]]["Properties"]["Schema"] if model_ref else None
            validator = props.get("RequestValidatorId", {}).get("Ref")
            target = next(a for a in aliases if a in json.dumps(props["Integration"]["Uri"]))
            self.methods.append(
                Method(
                    http_method=props["HttpMethod"],
                    resource_path=path,
                    pattern=_path_pattern(path),
                    authorization=props.get("AuthorizationType", "NONE"),
                    model_schema=schema,
                    validate_body=validators.get(validator, False),
                    function=aliases[target],
                )
            )
        # Literal segments win over path parameters, as in API Gateway.
        self.methods.sort(key=lambda m: m.resource_path.count("{"))
        self.cloudfront = self._cloudfront(resolver)

    def _resource_paths(self) -> dict[str, str]:
        parts = {
            k: (v["Properties"]["PathPart"], v["Properties"]["ParentId"])
            for k, v in self.template.of_type("AWS::ApiGateway::Resource").items()
        }

        def path_of(logical_id: str) -> str:
            part, parent = parts[logical_id]
            parent_ref = parent.get("Ref") if isinstance(parent, dict) else None
            return (path_of(parent_ref) if parent_ref in parts else "") + f"/{part}"

        return {k: path_of(k) for k in parts}

    def _cloudfront(self, resolver: Resolver) -> tuple[str, str, CloudFrontFunction | None] | None:
        """(path prefix, origin path, viewer-request function) of the API behaviour."""
        for dist in self.template.of_type("AWS::CloudFront::Distribution").values():
            config = dist["Properties"]["DistributionConfig"]
            origins = {o["Id"]: o for o in config["Origins"]}
            for behavior in config.get("CacheBehaviors", []):
                origin = origins[behavior["TargetOriginId"]]
                if self.api_id not in json.dumps(origin["DomainName"]):
                    continue
                function = None
                for association in behavior.get("FunctionAssociations", []):
                    (logical_id, _attr) = association["FunctionARN"]["Fn::GetAtt"]
                    code = self.template.resources[logical_id]["Properties"]["FunctionCode"]
                    function = CloudFrontFunction(resolver.resolve(code))
                prefix = behavior["PathPattern"].removesuffix("*")
                return prefix, origin.get("OriginPath", ""), function
        return None

    def match(self, http_method: str, path: str) -> Method | None:
        for method in self.methods:
            if method.http_method == http_method and method.pattern.match(path):
                return method
        return None


class Gateway:
    """The ASGI app; ``functions`` maps a function's logical id to its sandbox's base URL."""

    def __init__(self, api: ApiDefinition, functions: dict[str, str], *, account: str, region: str) -> None:
        self.api = api
        self.functions = functions
        self.account = account
        self.region = region
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(900.0, connect=5.0))
        self.app = Starlette(
            routes=[
                Route("/{path:path}", self.handle, methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"])
            ]
        )

    def gateway_response(self, response_type: str, message: str | None = None) -> Response:
        """API Gateway's answer for an error it raises itself, per the template's gateway responses."""
        configured = self.api.gateway_responses.get(response_type)
        family = "DEFAULT_5XX" if DEFAULT_STATUS.get(response_type, 500) >= 500 else "DEFAULT_4XX"
        if configured is None:
            configured = self.api.gateway_responses.get(family, {})
        status = int(configured.get("StatusCode") or DEFAULT_STATUS.get(response_type, 500))
        text = message or DEFAULT_MESSAGE.get(response_type, "Error")
        template = (configured.get("ResponseTemplates") or {}).get("application/json")
        body = (
            template.replace("$context.error.messageString", json.dumps(text))
            if template
            else json.dumps({"message": text})
        )
        headers = {"x-amzn-errortype": response_type, "x-amzn-requestid": str(uuid.uuid4())}
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        cloudfront = self.api.cloudfront
        if cloudfront is not None and path.startswith(cloudfront[0]):
            _prefix, origin_path, function = cloudfront
            if function is not None:
                result = function.viewer_request(
                    method=request.method,
                    uri=path,
                    headers=headers,
                    querystring=dict(request.query_params),
                    ip=request.client.host if request.client else "127.0.0.1",
                )
                if "statusCode" in result:
                    return Response(result.get("body", ""), status_code=int(result["statusCode"]))
                path = result["uri"]
                headers = {k: v["value"] for k, v in (result.get("headers") or {}).items()}
            path = origin_path + path
        stage_prefix = f"/{self.api.stage}"
        if not (path == stage_prefix or path.startswith(stage_prefix + "/")):
            return Response("Not Found", status_code=404, media_type="text/plain")
        return await self._api_gateway(request, path[len(stage_prefix) :] or "/", headers)

    async def _api_gateway(self, request: Request, path: str, headers: dict[str, str]) -> Response:
        method = self.api.match(request.method, path)
        if method is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN")
        claims: dict[str, Any] | None = None
        if method.authorization == "COGNITO_USER_POOLS":
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not token:
                return self.gateway_response("UNAUTHORIZED")
            try:
                claims = verify_id_token(
                    token,
                    jwks=self.api.authorizer.jwks,
                    issuer=self.api.authorizer.issuer,
                    client_ids=self.api.authorizer.client_ids,
                )
            except TokenRejected:
                return self.gateway_response("UNAUTHORIZED")
        body = await request.body()
        if method.validate_body and method.model_schema is not None:
            content_type = headers.get("content-type", "application/json").split(";")[0].strip()
            if content_type == "application/json":
                try:
                    document = json.loads(body or b"null")
                except ValueError:
                    return self.gateway_response("BAD_REQUEST_BODY", "Invalid request body")
                errors = sorted(Draft4Validator(method.model_schema).iter_errors(document), key=str)
                if errors:
                    detail = f"[{', '.join(repr(e.message) for e in errors)}]"
                    return self.gateway_response("BAD_REQUEST_BODY", f"Invalid request body {detail}")
        return await self._invoke(request, method, path, headers, body, claims)

    def request_context(
        self, request: Request, method: Method, path: str, claims: dict[str, Any] | None
    ) -> dict[str, Any]:
        """API Gateway's REST request context as the Web Adapter forwards it."""
        now = time.time()
        context: dict[str, Any] = {
            "resourceId": "rehearsal",
            "resourcePath": method.resource_path,
            "httpMethod": method.http_method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{self.api.stage}{path}",
            "accountId": self.account,
            "protocol": "HTTP/1.1",
            "stage": self.api.stage,
            "domainPrefix": self.api.api_id.lower(),
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": request.client.host if request.client else "127.0.0.1",
                "userAgent": request.headers.get("user-agent"),
            },
            "domainName": f"{self.api.api_id.lower()}.execute-api.{self.region}.amazonaws.com",
            "apiId": self.api.api_id.lower(),
        }
        if claims is not None:
            # REST API Cognito authorizers pass every claim as a string.
            context["authorizer"] = {
                "claims": {k: (json.dumps(v) if isinstance(v, bool) else str(v)) for k, v in claims.items()}
            }
        return context

    async def _invoke(
        self,
        request: Request,
        method: Method,
        path: str,
        headers: dict[str, str],
        body: bytes,
        claims: dict[str, Any] | None,
    ) -> Response:
        forwarded = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP and k not in _CONTEXT_HEADERS}
        forwarded["x-amzn-request-context"] = json.dumps(self.request_context(request, method, path, claims))
        url = self.functions[method.function] + path
        upstream = self.client.build_request(
            request.method, url, params=dict(request.query_params), headers=forwarded, content=body
        )
        try:
            response = await self.client.send(upstream, stream=True)
        except httpx.HTTPError:
            return self.gateway_response("INTEGRATION_FAILURE")

        async def relay() -> AsyncIterator[bytes]:
            async for chunk in response.aiter_raw():
                yield chunk

        out_headers = {
            k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP | {"content-length"}
        }
        return StreamingResponse(
            relay(),
            status_code=response.status_code,
            headers=out_headers,
            background=BackgroundTask(response.aclose),
        )
