#!/usr/bin/env python3
"""CDK entry point. `make synth` runs it directly (offline, no Docker); `make deploy` via the CLI."""

import os

from cdk.app_factory import build_app

if __name__ == "__main__":
    # The CDK CLI says where to write; run directly, it goes to ./cdk.out like the CLI's default.
    app, _ = build_app(outdir=None if "CDK_OUTDIR" in os.environ else "cdk.out")
    app.synth()
