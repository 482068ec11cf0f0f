"""CloudWatch metrics for model calls, as Embedded Metric Format lines (Powertools).

Names (chatbot_common.observability_names) are the ones the dashboard and alarms in cdk/ use:
namespace Chatbot, dimension service=chat plus model. Set POWERTOOLS_METRICS_DISABLED=true (or
POWERTOOLS_DEV=true) to silence them locally.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from chatbot_common import observability_names as names
from lambda_chat.domain.entities import CallRecord
from lambda_chat.tools.registry import ToolOutcome


def _metrics(model_id: str) -> EphemeralMetrics:
    # A fresh, unshared set per emission: requests run concurrently on worker threads.
    metrics = EphemeralMetrics(namespace=names.METRICS_NAMESPACE, service=names.CHAT_SERVICE_NAME)
    metrics.add_dimension("model", model_id or "unknown")
    return metrics


def emit_call_metrics(record: CallRecord) -> None:
    """Tokens and latency of one model call."""
    metrics = _metrics(record.model)
    metrics.add_metric(name=names.METRIC_INPUT_TOKENS, unit=MetricUnit.Count, value=record.input_tokens)
    metrics.add_metric(name=names.METRIC_OUTPUT_TOKENS, unit=MetricUnit.Count, value=record.output_tokens)
    metrics.add_metric(name=names.METRIC_MODEL_LATENCY, unit=MetricUnit.Milliseconds, value=record.latency_ms)
    metrics.flush_metrics()


def emit_model_throttle(model_id: str) -> None:
    """One throttled attempt (retried or not)."""
    metrics = _metrics(model_id)
    metrics.add_metric(name=names.METRIC_MODEL_THROTTLES, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def emit_tool_metrics(outcome: ToolOutcome) -> None:
    """One tool run: its duration and output size, and a count of runs by status, dimensioned
    by tool name (the model dimension is not used: a tool is the same whichever model calls it)."""
    metrics = EphemeralMetrics(namespace=names.METRICS_NAMESPACE, service=names.CHAT_SERVICE_NAME)
    metrics.add_dimension("tool", outcome.name)
    metrics.add_dimension("status", outcome.status)
    metrics.add_metric(name=names.METRIC_TOOL_RUNS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name=names.METRIC_TOOL_LATENCY, unit=MetricUnit.Milliseconds, value=outcome.duration_ms
    )
    metrics.add_metric(name=names.METRIC_TOOL_OUTPUT_CHARS, unit=MetricUnit.Count, value=outcome.output_chars)
    metrics.flush_metrics()
