"""`python -m local_stack`: the whole product on 127.0.0.1 (what `make run` runs).

    python -m local_stack [--port 8000] [--state-dir .state] [--model embedded|scripted]
                          [--model-path FILE.gguf] [--no-persist]
    python -m local_stack --aws --table T --bucket B      # same apps on real AWS

Ctrl-C or SIGTERM stops everything: the apps, then the model runtime, then moto.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from lambda_chat.priming import freeze_start_up_heap
from local_stack.bedrock_runtime.server import LONG_RUNNING_RECORDED_REQUESTS
from local_stack.runner import DEFAULT_STATE_DIR, LocalStack, StackError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="Run the chatbot on 127.0.0.1: moto (S3, DynamoDB), a local Bedrock runtime, "
        "both apps on one port, and the web client.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface for the app (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="app port (env PORT, default 8000)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("CHATBOT_STATE_DIR") or DEFAULT_STATE_DIR),
        help="where the moto recording (your conversations and uploads) lives (default .state/)",
    )
    parser.add_argument(
        "--model",
        choices=["embedded", "scripted"],
        default="embedded",
        help="embedded: SmolLM2-135M (or --model-path) run on the CPU; scripted: instant echo replies",
    )
    parser.add_argument("--model-path", type=Path, help="any GGUF file to serve instead of SmolLM2-135M")
    parser.add_argument(
        "--no-persist", action="store_true", help="start empty and record nothing (state dir untouched)"
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        help="serve the same apps against real AWS (credentials and region from the environment, "
        "no endpoint overrides, real Bedrock); needs --table and --bucket",
    )
    parser.add_argument("--table", help="DynamoDB table (with --aws; env CHATBOT_TABLE_NAME)")
    parser.add_argument("--bucket", help="uploads bucket (with --aws; env CHATBOT_UPLOADS_BUCKET)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return parser


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """The first Ctrl-C or SIGTERM stops the stack; later ones are ignored from here on, so that
    a signal sent to the whole process group (`make` passes its own on to us as well) cannot
    interrupt the shutdown with a second KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM behaves like Ctrl-C, also while the model is still loading.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    stack: LocalStack | None = None
    try:
        stack = LocalStack(
            port=args.port,
            host=args.host,
            state_dir=args.state_dir,
            model=args.model,
            model_path=args.model_path,
            persist=not args.no_persist,
            use_aws=args.aws,
            table_name=args.table,
            uploads_bucket=args.bucket,
            log_level=args.log_level,
            max_recorded_requests=LONG_RUNNING_RECORDED_REQUESTS,
        )
        print("Starting the local stack...", flush=True)
        stack.start()
        # The runner serves from here on: its start-up heap (the apps, the runtime, botocore's
        # models) leaves the garbage collector's scans (lambda_chat.priming.freeze_start_up_heap).
        freeze_start_up_heap()
        print(f"App: {stack.url}/", flush=True)
        if args.aws:
            print(f"AWS: table {stack.table_name}, bucket {stack.uploads_bucket}, real Bedrock", flush=True)
        else:
            print(f"Bedrock endpoint: {stack.bedrock_url}", flush=True)
            print(f"S3 + DynamoDB (moto): {stack.moto_url}", flush=True)
            print(f"Model: {stack.default_model_id}", flush=True)
            if args.no_persist:
                print("State: not persisted (--no-persist)", flush=True)
            else:
                print(
                    f"State: {stack.state_dir}/ ({stack.restored_items} items restored, "
                    f"{stack.replayed_requests} writes replayed after an unclean stop)"
                )
        print("Press Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short (moto's recording, child processes).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
