"""Lambda SnapStart hooks the Web Adapter calls on the chat app, named once for the app and cdk/.

With SnapStart on, Lambda snapshots a published version after its init phase and restores new
execution environments from that snapshot. The Web Adapter (v1.1.0, layer 30) bridges the
lifecycle to the app over HTTP: it POSTs `AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH` before the
snapshot (a non-2xx answer fails the version's publication), see docs/deploy.md "SnapStart" and
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-best-practices.html#snapstart-tuning
"""

from __future__ import annotations

# The chat app's before-checkpoint hook (lambda_chat.routes_snapstart); not routed by API Gateway.
BEFORE_CHECKPOINT_PATH = "/snapstart/before-checkpoint"
