"""The whole product on 127.0.0.1: moto (S3 + DynamoDB), the local Bedrock runtime, both apps, web client.

    with LocalStack(port=0, state_dir=tmp_path, engines=[ScriptedEngine()]) as stack:
        httpx.post(stack.url + "/chat", json={"message": "hi"})

`python -m local_stack` (what `make run` runs) is a thin command line over this class.

The apps are the very objects that run in Lambda; only their inputs differ. Locally the runner
builds `Settings` itself (table, bucket, `local_mode=True` for the fixed development identity) and
hands the apps boto3 clients made by the shared factory (`chatbot_common.aws_clients`) with moto's
and the local runtime's endpoints and dummy credentials: building the apps neither reads nor
changes the process environment, so several stacks can run in one process (tests, benchmarks).
With `use_aws=True` the clients use the AWS credentials and region of the environment, the
deployed table and bucket, and real Bedrock.

`stack.env` lists the same configuration as environment variables (`CHATBOT_*`,
`AWS_ENDPOINT_URL_*`): what a separate process (a benchmark's fresh app) needs to reach this stack.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from chatbot_common.resources import LOCAL_TABLE_NAME, LOCAL_UPLOADS_BUCKET
from local_stack import DEFAULT_STATE_DIR, ENDPOINTS_FILE
from local_stack.dispatcher import Dispatcher, web_config
from local_stack.moto_service import DUMMY_CREDENTIALS, LOCAL_REGION, MotoServer
from local_stack.server_group import ServerGroup

if TYPE_CHECKING:
    import uvicorn

    from chatbot_common.aws_clients import AwsClients
    from chatbot_common.settings import Settings
    from local_stack.bedrock_runtime import RunningRuntime
    from local_stack.bedrock_runtime.engine import Engine

REPO_ROOT = Path(__file__).resolve().parents[1]
ModelChoice = Literal["embedded", "scripted"]

LOCK_FILE = ".lock"

# Dummy credentials and region for a separate process pointed at a local stack (see `env`).
BASE_LOCAL_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
    "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
    "AWS_SESSION_TOKEN": None,
    "AWS_SECURITY_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _import_apps() -> None:
    """Import both apps' modules (langchain-aws and friends: the slow part of start-up)."""
    for module in ("lambda_chat.app", "lambda_upload.app"):
        importlib.import_module(module)


class StackError(RuntimeError):
    """The local stack could not start (port taken, model failed to load, AWS not configured...)."""


class LocalStack(ServerGroup):
    """Start with `start()` or a `with` block; `url`, `bedrock_url`, `moto_url`, `runtime` once started."""

    def __init__(
        self,
        *,
        port: int = 8000,
        host: str = "127.0.0.1",
        state_dir: str | Path = DEFAULT_STATE_DIR,
        engines: Sequence[Engine] | None = None,
        model: ModelChoice = "embedded",
        model_path: str | Path | None = None,
        persist: bool = True,
        use_aws: bool = False,
        table_name: str | None = None,
        uploads_bucket: str | None = None,
        web_dirs: Sequence[Path] | None = None,
        model_load_timeout: float = 300.0,
        log_level: str = "warning",
        settings_overrides: Mapping[str, Any] | None = None,
        max_recorded_requests: int | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.state_dir = Path(state_dir)
        self.persist = persist
        self.use_aws = use_aws
        self.model = model
        self.model_path = model_path
        self.model_load_timeout = model_load_timeout
        self.log_level = log_level
        # Settings fields to set beyond the stack's own (e.g. {"max_output_tokens": 48}).
        self.settings_overrides = dict(settings_overrides or {})
        # None: the runtime keeps every Converse body (tests count them); a bound for long runs.
        self.max_recorded_requests = max_recorded_requests
        # The apps' configuration as environment variables, for a separate process (once started).
        self.env: dict[str, str | None] = {}
        if use_aws:
            # Real AWS: the deployed stack's names, from flags or the environment.
            table_name = table_name or os.environ.get("CHATBOT_TABLE_NAME")
            uploads_bucket = uploads_bucket or os.environ.get("CHATBOT_UPLOADS_BUCKET")
            if not table_name or not uploads_bucket:
                raise StackError(
                    "--aws needs --table and --bucket (or CHATBOT_TABLE_NAME, CHATBOT_UPLOADS_BUCKET)"
                )
        self.table_name = table_name or LOCAL_TABLE_NAME
        self.uploads_bucket = uploads_bucket or LOCAL_UPLOADS_BUCKET
        # The built web client if there is one, else its sources as they are.
        default_web = [REPO_ROOT / "web_client" / "dist", REPO_ROOT / "web_client"]
        self.web_dirs = list(web_dirs) if web_dirs else default_web
        self._engines = list(engines) if engines is not None else None
        self.moto: MotoServer | None = None
        self.runtime: RunningRuntime | None = None
        self.settings: Settings | None = None
        self.clients: AwsClients | None = None
        self.default_model_id: str | None = None
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._lock_file: Any = None
        self._socket: socket.socket | None = None

    # -- public surface ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the app, without a trailing slash: `http://127.0.0.1:PORT`."""
        return f"http://{self._display_host}:{self.port}"

    @property
    def bedrock_url(self) -> str | None:
        return self.runtime.endpoint_url if self.runtime is not None else None

    @property
    def moto_url(self) -> str | None:
        return self.moto.endpoint_url if self.moto is not None else None

    @property
    def replayed_requests(self) -> int:
        """Writes replayed from the recording tail at start (non-zero only after a crash)."""
        return self.moto.replayed_requests if self.moto is not None else 0

    @property
    def restored_items(self) -> int:
        """DynamoDB items loaded from the state snapshot at start."""
        return self.moto.restored_items if self.moto is not None else 0

    def stop(self) -> None:
        """Stop the apps first (no request is cut mid-write), then the runtime, then moto."""
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(timeout=15)
            self._server = None
            self._server_thread = None
        if self._socket is not None:
            self._socket.close()  # uvicorn closes it too; this covers a start that failed before uvicorn
            self._socket = None
        self._stop_backends()
        if self._lock_file is not None:
            (self.state_dir / ENDPOINTS_FILE).unlink(missing_ok=True)
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    # -- start-up ------------------------------------------------------------------------------

    @property
    def _display_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_state_dir()
        # Bind first: the port is known before the bucket CORS and web origin are configured, and a
        # taken port fails fast, before the model loads.
        sock = self._socket = self._bind()
        self.port = sock.getsockname()[1]
        origins = sorted({self.url, f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"})
        if self.use_aws:
            self._configure_aws()
        else:
            # moto and the model load in the background while this thread imports the apps.
            self.moto = MotoServer(self.state_dir, persist=self.persist)
            self.moto.launch()
            engines = self._start_runtime()
            _import_apps()
            self.moto.wait_ready()
            self.moto.ensure_resources(self.table_name, self.uploads_bucket, origins)
            self._wait_for_models(engines)
            self._configure_local()
        self._start_apps(sock)
        self._write_endpoints()

    def _lock_state_dir(self) -> None:
        """One stack per state dir: two moto servers appending to one recording would corrupt it."""
        lock_file = (self.state_dir / LOCK_FILE).open("w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            raise StackError(f"Another local stack is running with state dir {self.state_dir}") from None
        self._lock_file = lock_file

    def _bind(self) -> socket.socket:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it Nagle + delayed ACK add ~40 ms to every response (measured: 68 ms vs 22 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise StackError(f"Cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        sock.set_inheritable(True)
        return sock

    def _start_runtime(self) -> list[Engine]:
        from local_stack.bedrock_runtime import EmbeddedEngine, ScriptedEngine, serve_in_thread

        engines = self._engines
        if engines is None:
            if self.model == "scripted":
                engines = [ScriptedEngine()]
            else:
                engines = [EmbeddedEngine(model_path=self.model_path, load_timeout=self.model_load_timeout)]
        self.runtime = serve_in_thread(
            engines, host="127.0.0.1", port=0, max_recorded_requests=self.max_recorded_requests
        )
        self.default_model_id = engines[0].description.model_id
        return list(engines)

    def _wait_for_models(self, engines: list[Engine]) -> None:
        # The stack reports ready only once the model answers: the first chat must not time out.
        for engine in engines:
            if not engine.wait_ready(self.model_load_timeout) or engine.load_error:
                detail = engine.load_error or f"not ready after {self.model_load_timeout:.0f}s"
                raise StackError(f"Model {engine.description.model_id} failed to load: {detail}")

    def _configure_local(self) -> None:
        """Settings and clients for moto and the local runtime (dummy credentials: never AWS)."""
        from chatbot_common.aws_clients import create_clients

        assert self.moto is not None and self.runtime is not None
        moto_url, bedrock_url = self.moto.endpoint_url, self.runtime.endpoint_url
        endpoints = {
            "dynamodb": moto_url,
            "s3": moto_url,
            "bedrock-runtime": bedrock_url,
            "bedrock": bedrock_url,
        }
        self.settings = self._settings(
            LOCAL_REGION, default_model_id=self.default_model_id, allowed_model_ids=[]
        )
        self.clients = create_clients(LOCAL_REGION, endpoint_urls=endpoints, credentials=DUMMY_CREDENTIALS)
        self.env = {
            **BASE_LOCAL_ENV,
            **self._settings_env(),
            "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
            "AWS_ENDPOINT_URL_S3": moto_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
            "AWS_ENDPOINT_URL_BEDROCK": bedrock_url,
            "AWS_ENDPOINT_URL": None,
        }

    def _configure_aws(self) -> None:
        """Settings and clients for the deployed table and bucket and real Bedrock."""
        import boto3

        from chatbot_common.aws_clients import create_clients

        # boto3 itself reads AWS_DEFAULT_REGION and the profile; AWS_REGION is the Lambda-style name.
        region = os.environ.get("AWS_REGION") or boto3.Session().region_name
        if not region:
            raise StackError("--aws needs a region: set AWS_REGION or AWS_DEFAULT_REGION, or a profile's")
        if boto3.Session().get_credentials() is None:
            raise StackError("--aws needs AWS credentials (environment, profile or SSO login)")
        overrides = [
            name
            for name in (
                "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_DYNAMODB",
                "AWS_ENDPOINT_URL_S3",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                "AWS_ENDPOINT_URL_BEDROCK",
            )
            if os.environ.get(name)
        ]
        if overrides:
            raise StackError(f"--aws runs against real AWS; unset {', '.join(overrides)}")
        # The runner has no authorizer in front of it, so it serves the fixed development identity.
        self.settings = self._settings(region)
        self.clients = create_clients(region)
        self.env = self._settings_env()

    def _settings(self, region: str, **values: Any) -> Settings:
        """The apps' settings: the stack's own values, then `settings_overrides`; fields neither
        sets come from CHATBOT_* variables as in Lambda (pydantic-settings: arguments win)."""
        from chatbot_common.settings import Settings

        return Settings(
            table_name=self.table_name,
            uploads_bucket=self.uploads_bucket,
            local_mode=True,
            region=region,
            web_origin=self.url,
            **{**{k: v for k, v in values.items() if v is not None}, **self.settings_overrides},
        )

    def _settings_env(self) -> dict[str, str | None]:
        """The settings that differ from their defaults, as the CHATBOT_* variables Lambda reads."""
        assert self.settings is not None
        env: dict[str, str | None] = {}
        for name, value in self.settings.model_dump(exclude_defaults=True).items():
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = str(value).lower()
            env[f"CHATBOT_{name.upper()}"] = str(value)
        return env

    def _start_apps(self, sock: socket.socket) -> None:
        import uvicorn

        from lambda_chat.app import create_app as create_chat_app
        from lambda_upload.app import create_app as create_upload_app

        assert self.settings is not None and self.clients is not None
        chat_app = create_chat_app(self.settings, clients=self.clients)
        upload_app = create_upload_app(self.settings, clients=self.clients)
        if self.default_model_id is None:
            self.default_model_id = self.settings.default_model_id
        dispatcher = Dispatcher(
            chat_app=chat_app,
            upload_app=upload_app,
            static_dirs=self.web_dirs,
            config=web_config(local_mode=True),
        )
        config = uvicorn.Config(
            dispatcher,
            lifespan="on",
            log_level=self.log_level,
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="local-stack-http", daemon=True
        )
        self._server_thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._server_thread.is_alive() or time.monotonic() > deadline:
                raise StackError("The app server did not start (see the log above)")
            time.sleep(0.02)
        response = httpx.get(self.url + "/health", timeout=10)
        if response.status_code != 200:
            detail = f"HTTP {response.status_code} {response.text[:200]}"
            raise StackError(f"The chat app is not healthy: {detail}")

    def _write_endpoints(self) -> None:
        """Where things listen, for tools such as `chatbot logs` (removed on stop)."""
        endpoints: dict[str, Any] = {
            "app": self.url,
            "bedrock": self.bedrock_url,
            "moto": self.moto_url,
            "table": self.table_name,
            "bucket": self.uploads_bucket,
            "region": self.settings.region if self.settings is not None else None,
            "aws": self.use_aws,
            "pid": os.getpid(),
            "motoPid": self.moto.pid if self.moto is not None else None,
        }
        (self.state_dir / ENDPOINTS_FILE).write_text(json.dumps(endpoints, indent=2) + "\n")
