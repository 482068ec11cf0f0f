#!/usr/bin/env python3
"""CDK entry point: `make synth` / `npx cdk synth` (offline, no Docker)."""

from cdk.app_factory import build_app

if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
