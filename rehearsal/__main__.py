"""`python -m rehearsal [--dir DIR]` (`make rehearse`): start the rehearsal and keep it running.

Prints the gateway URL and an ID token for a test user; Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import tempfile
import threading
from pathlib import Path

from rehearsal.stack import Rehearsal


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=None, help="cloud assembly directory (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    outdir = args.dir or Path(tempfile.mkdtemp(prefix="rehearsal-"))
    print(f"Synthesizing into {outdir} with bundles for this machine, then starting...", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Rehearsal(outdir) as rehearsal:
        token = rehearsal.issuer.id_token("rehearsal-user")
        print(f"Gateway (CloudFront /api/* and the {rehearsal.gateway.api.stage} stage): {rehearsal.url}")
        for spec in rehearsal.specs.values():
            print(f"  {spec.name}: {spec.bundle_dir}  (log: {rehearsal.sandboxes[spec.logical_id].log_path})")
        print("Try:")
        print(f"  curl -s -H 'Authorization: {token}' -H 'Content-Type: application/json' \\")
        print(f'       -d \'{{"message": "hello"}}\' {rehearsal.url}/api/chat')
        print("Ctrl-C stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
