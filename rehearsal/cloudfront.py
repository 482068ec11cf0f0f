"""Runs the template's CloudFront Function code with node, one long-lived process.

The event is the CloudFront Functions viewer-request event structure (CloudFront developer guide,
"CloudFront Functions event structure"): ``request.headers`` keyed by lower-case name with
``{"value": ...}``, ``request.querystring`` likewise. The function's returned request (uri,
headers) is what the origin sees; a returned response (``statusCode``) is answered directly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from typing import Any

# Loads the function code in a fresh context (no require, no process: the JS 2.0 runtime has
# neither), then handles one JSON event per line.
_WORKER = r"""
const vm = require("vm");
const readline = require("readline");
const code = JSON.parse(process.argv[process.argv.length - 1]);
const context = vm.createContext({});
vm.runInContext(code, context);
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let out;
  try {
    context.__event = JSON.parse(line);
    out = { ok: vm.runInContext("handler(__event)", context) };
  } catch (e) {
    out = { error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
});
"""


class CloudFrontFunctionError(RuntimeError):
    pass


class CloudFrontFunction:
    """The function code of an ``AWS::CloudFront::Function``, run by node."""

    def __init__(self, code: str) -> None:
        node = shutil.which("node")
        if node is None:
            raise CloudFrontFunctionError("node is needed to run the CloudFront Function")
        self._process = subprocess.Popen(
            [node, "-e", _WORKER, json.dumps(code)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()

    def viewer_request(
        self, *, method: str, uri: str, headers: dict[str, str], querystring: dict[str, str], ip: str
    ) -> dict[str, Any]:
        """The function's result for one request: a request or a response object."""
        event = {
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": ip},
            "request": {
                "method": method,
                "uri": uri,
                "headers": {k.lower(): {"value": v} for k, v in headers.items()},
                "querystring": {k: {"value": v} for k, v in querystring.items()},
                "cookies": {},
            },
        }
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(event) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise CloudFrontFunctionError("the node worker exited")
        result = json.loads(line)
        if "error" in result:
            raise CloudFrontFunctionError(result["error"])
        out: dict[str, Any] = result["ok"]
        return out

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
