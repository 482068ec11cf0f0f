"""Start a Lambda bundle the way the Lambda Web Adapter does: its own ``run.sh``, the template's
environment, and nothing of this repository on the path.

What the process gets, and why:
- the function's ``Environment.Variables`` from the template, references resolved (a variable
  missing there is missing here);
- what Lambda itself sets in every sandbox (``AWS_REGION``, ``LAMBDA_TASK_ROOT``,
  ``AWS_LAMBDA_FUNCTION_NAME``, credentials of the execution role: dummies here);
- the local endpoints (``AWS_ENDPOINT_URL_<SERVICE>``, boto3's documented overrides) instead of
  AWS's;
- one change: ``AWS_LWA_PORT``/``PORT`` get a free loopback port, because every Lambda has its
  own network namespace while the rehearsal's functions share this machine's.
``PATH`` holds only a directory whose ``python`` is the Lambda runtime's version (3.13) and the
system directories; the working directory is the bundle, like /var/task.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from cdk.bundling import target_interpreter
from cdk.constants import LAMBDA_PYTHON_VERSION
from local_stack.moto_service import free_port

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAREHEARSAL0000000",
    "AWS_SECRET_ACCESS_KEY": "rehearsal-secret",
    "AWS_SESSION_TOKEN": "rehearsal-session",
}


class FunctionStartError(RuntimeError):
    """The bundle did not become ready (crashed at import, missing setting, ...)."""


@dataclass
class LambdaSandbox:
    """One function's bundle started by its run.sh on a loopback port."""

    name: str
    bundle_dir: Path
    environment: dict[str, str]
    endpoints: dict[str, str]
    region: str
    port: int = 0
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)
    _bin_dir: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process_environment(self) -> dict[str, str]:
        """Exactly what the process sees (tests assert on it)."""
        assert self._bin_dir is not None
        return {
            "PATH": f"{self._bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(self._bin_dir),
            "LAMBDA_TASK_ROOT": str(self.bundle_dir),
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
            **self.environment,
            "AWS_LWA_PORT": str(self.port),
            "PORT": str(self.port),
            **self.endpoints,
        }

    def start(self, timeout: float = 90.0) -> None:
        """Run ``run.sh`` and wait for the readiness path, as the Web Adapter does before the
        first invocation. Raises FunctionStartError with the process's output."""
        interpreter = target_interpreter(LAMBDA_PYTHON_VERSION)
        if interpreter is None:
            raise FunctionStartError(f"no python{LAMBDA_PYTHON_VERSION} on this machine")
        self._bin_dir = Path(tempfile.mkdtemp(prefix=f"rehearsal-{self.name}-"))
        (self._bin_dir / "python").symlink_to(interpreter)
        self.port = free_port()
        self.log_path = self._bin_dir / "function.log"
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [str(self.bundle_dir / "run.sh")],
            cwd=self.bundle_dir,
            env=self.process_environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        readiness = self.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise FunctionStartError(f"{self.name} exited ({self._process.returncode}): {self.output()}")
            try:
                if httpx.get(self.url + readiness, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise FunctionStartError(f"{self.name} not ready within {timeout:.0f}s: {self.output()}")

    def output(self, limit: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-limit:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        if self._bin_dir is not None:
            shutil.rmtree(self._bin_dir, ignore_errors=True)
