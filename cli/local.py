"""The running local stack (`make run`), as the CLI finds it: `<state dir>/endpoints.json`.

`python -m local_stack` writes that file once it listens (app URL, moto, table, pid...) and
removes it on a clean stop; a file left by a stack that was killed names a pid that is gone,
and is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from local_stack import ENDPOINTS_FILE

FALLBACK_API_URL = "http://127.0.0.1:8000"  # `make run`'s default port, when nothing better is known


def read_local_endpoints(state_dir: Path) -> dict[str, Any] | None:
    """What a running `python -m local_stack` wrote to `<state dir>/endpoints.json`, or None
    when there is no such file, it is not a JSON object, or the process that wrote it is gone."""
    try:
        data = json.loads((state_dir / ENDPOINTS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        return None
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def resolve_api_url(
    explicit: str | None, state_dir: Path, environ: dict[str, str] | None = None
) -> tuple[str, str]:
    """(API base URL, where it came from): --api-url, then CHATBOT_API_URL, then the running local
    stack's endpoints file, then `make run`'s default port."""
    env = os.environ if environ is None else environ
    if explicit:
        return explicit, "--api-url"
    if env.get("CHATBOT_API_URL"):
        return env["CHATBOT_API_URL"], "CHATBOT_API_URL"
    local = read_local_endpoints(state_dir)
    if local and isinstance(local.get("app"), str):
        return local["app"], f"local stack ({state_dir / ENDPOINTS_FILE})"
    return FALLBACK_API_URL, "default"


def local_logs_note(state_dir: Path, local: dict[str, Any] | None) -> str:
    """Where a local stack's logs are: `--tail` reads CloudWatch, which a laptop run never writes to."""
    moto_log = state_dir / "moto.log"
    if local:
        where = f"The local stack at {local.get('app', '?')} (pid {local.get('pid', '?')})"
    else:
        where = (
            f"No local stack is running (no {state_dir / ENDPOINTS_FILE}) and no AWS credentials were "
            "found for CloudWatch. A local stack (`make run`)"
        )
    return (
        f"{where} does not write to CloudWatch: its chat and upload apps print their logs (one JSON "
        "line per request and per model call) in the terminal where `make run` runs"
        + (f", and moto's log is {moto_log}" if moto_log.exists() else "")
        + ". `chatbot logs` without --tail lists its model calls from the call log. "
        "For a deployed stack: `chatbot logs --tail --stack-name <name>`.\n"
    )
