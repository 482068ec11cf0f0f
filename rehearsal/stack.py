"""The whole rehearsal: synth, local AWS stand-ins, the functions' bundles, the gateway.

with Rehearsal(work_dir) as rehearsal:
    token = rehearsal.issuer.id_token("alice")
    httpx.post(rehearsal.url + "/api/chat", headers={"Authorization": token}, json={...})
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from cdk.bundling import REPO_ROOT
from cdk.constants import CONTEXT_BUNDLE_TARGET
from chatbot_common.model_ids import split_model_id
from local_stack.bedrock_runtime import RunningRuntime, ScriptedEngine, serve_in_thread
from local_stack.moto_service import MotoServer, free_port
from local_stack.server_group import ServerGroup
from rehearsal.gateway import ApiDefinition, Authorizer, Gateway
from rehearsal.issuer import LocalIssuer
from rehearsal.sandbox import LambdaSandbox
from rehearsal.template import Resolver, Template


class RehearsalError(RuntimeError):
    pass


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Template:
    """Run app.py as the CDK CLI does (CDK_OUTDIR, CDK_CONTEXT_JSON), bundles for this machine.

    Environment-agnostic (no CDK_DEFAULT_ACCOUNT/REGION), like `make synth`.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    env["CDK_OUTDIR"] = str(outdir)
    env["CDK_CONTEXT_JSON"] = json.dumps({**(context or {}), CONTEXT_BUNDLE_TARGET: "host"})
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    if result.returncode != 0:
        raise RehearsalError(f"synth failed: {result.stderr[-3000:]}")
    return Template.load(outdir)


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function of the template: its bundle and its resolved environment."""

    logical_id: str
    name: str
    bundle_dir: Path
    environment: dict[str, str]


def function_specs(template: Template, resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every Web Adapter function (handler run.sh) of the template."""
    specs = {}
    for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
        props = resource["Properties"]
        if props.get("Handler") != "run.sh":
            continue
        variables = props.get("Environment", {}).get("Variables", {})
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=resolver.resolve(props["FunctionName"]),
            bundle_dir=template.asset_dir(props["Code"]["S3Key"]),
            environment={k: str(resolver.resolve(v)) for k, v in variables.items()},
        )
    return specs


def user_pool_clients(template: Template, resolver: Resolver) -> tuple[str, list[str]]:
    """(user pool id, its app client ids) of the API's Cognito authorizer, resolved."""
    (authorizer,) = template.of_type("AWS::ApiGateway::Authorizer").values()
    (provider,) = authorizer["Properties"]["ProviderARNs"]
    pool_logical_id = provider["Fn::GetAtt"][0]
    client_ids = [
        resolver.physical_id(k)
        for k, v in template.of_type("AWS::Cognito::UserPoolClient").items()
        if v["Properties"]["UserPoolId"] == {"Ref": pool_logical_id}
    ]
    return resolver.physical_id(pool_logical_id), client_ids


class Rehearsal(ServerGroup):
    """Everything started from one synthesized template; stop() ends what start() began."""

    def __init__(
        self, assembly_dir: Path, *, synth: bool = True, context: dict[str, Any] | None = None
    ) -> None:
        self.assembly_dir = assembly_dir
        self._synth = synth
        self._context = context
        self.sandboxes: dict[str, LambdaSandbox] = {}
        self.moto: MotoServer | None = None
        self.runtime: RunningRuntime | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self) -> None:
        self.template = (
            synthesize(self.assembly_dir, self._context) if self._synth else Template.load(self.assembly_dir)
        )
        self.port = free_port()
        distribution = next(iter(self.template.of_type("AWS::CloudFront::Distribution")))
        # The web origin the template computes from the distribution is this gateway.
        self.resolver = Resolver(
            self.template, attributes={(distribution, "DomainName"): f"127.0.0.1:{self.port}"}
        )
        self.specs = function_specs(self.template, self.resolver)
        self.user_pool_id, client_ids = user_pool_clients(self.template, self.resolver)
        # The local issuer stands in for the pool: the authorizer trusts its JWKS only.
        self.issuer = LocalIssuer(
            region=self.resolver.region, user_pool_id=self.user_pool_id, client_id=client_ids[0]
        )
        authorizer = Authorizer(jwks=self.issuer.jwks, issuer=self.issuer.issuer, client_ids=client_ids)

        # Local stand-ins for the table, the bucket (named as the template names them) and Bedrock.
        self.moto = MotoServer(self.assembly_dir / "rehearsal-moto", persist=False)
        self.moto.start()
        any_env = next(iter(self.specs.values())).environment
        self.table_name = any_env["CHATBOT_TABLE_NAME"]
        self.bucket = any_env["CHATBOT_UPLOADS_BUCKET"]
        self.moto.ensure_resources(self.table_name, self.bucket, [f"https://127.0.0.1:{self.port}"])
        models = [m for m in any_env.get("CHATBOT_ALLOWED_MODEL_IDS", "").split(",") if m]
        engines = [ScriptedEngine(model_id=split_model_id(m)[1]) for m in dict.fromkeys(models)]
        self.runtime = serve_in_thread(engines or [ScriptedEngine()], host="127.0.0.1", port=0)
        self.endpoints = {
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.moto.endpoint_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.runtime.endpoint_url,
            "AWS_ENDPOINT_URL_BEDROCK": self.runtime.endpoint_url,
        }
        for logical_id, spec in self.specs.items():
            sandbox = self.sandbox(spec)
            sandbox.start()
            self.sandboxes[logical_id] = sandbox

        api = ApiDefinition(self.template, self.resolver, authorizer)
        self.gateway = Gateway(
            api,
            {k: s.url for k, s in self.sandboxes.items()},
            account=self.resolver.account,
            region=self.resolver.region,
        )
        config = uvicorn.Config(self.gateway.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rehearsal-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RehearsalError("the gateway did not start")
            time.sleep(0.05)

    def sandbox(
        self, spec: FunctionSpec, *, environment: dict[str, str] | None = None, bundle_dir: Path | None = None
    ) -> LambdaSandbox:
        """A sandbox for ``spec`` (optionally with another environment or bundle), not started."""
        return LambdaSandbox(
            name=spec.name,
            bundle_dir=bundle_dir or spec.bundle_dir,
            environment=spec.environment if environment is None else environment,
            endpoints=self.endpoints,
            region=self.resolver.region,
        )

    def function(self, package: str) -> FunctionSpec:
        """The spec of the function whose bundle holds ``package`` (``lambda_chat``)."""
        for spec in self.specs.values():
            if (spec.bundle_dir / package).is_dir():
                return spec
        raise KeyError(package)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        gateway = getattr(self, "gateway", None)
        if gateway is not None and gateway.api.cloudfront and gateway.api.cloudfront[2]:
            gateway.api.cloudfront[2].close()
        for sandbox in self.sandboxes.values():
            sandbox.cleanup()
        self.sandboxes.clear()
        self._stop_backends()
