"""Names the Lambdas emit and the stack's dashboard, alarms and environment refer to: the
Powertools service names and the custom CloudWatch metrics (Embedded Metric Format).

Defined once here; `lambda_chat.adapters.metrics`, both apps' loggers and `cdk/constants.py` import
them, so a renamed metric cannot leave an alarm watching nothing.
"""

from __future__ import annotations

METRICS_NAMESPACE = "Chatbot"
CHAT_SERVICE_NAME = "chat"
UPLOAD_SERVICE_NAME = "upload"

METRIC_INPUT_TOKENS = "InputTokens"
METRIC_OUTPUT_TOKENS = "OutputTokens"
METRIC_MODEL_LATENCY = "ModelLatency"  # milliseconds
METRIC_MODEL_THROTTLES = "ModelThrottles"  # one per throttled attempt, retried or not
METRIC_TOOL_RUNS = "ToolRuns"  # one per tool run, dimensioned by tool and status
METRIC_TOOL_LATENCY = "ToolLatency"  # milliseconds
METRIC_TOOL_OUTPUT_CHARS = "ToolOutputChars"  # before the output cap
