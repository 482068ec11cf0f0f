"""Chat-specific error types on top of chatbot_common.errors."""

from __future__ import annotations

from chatbot_common.errors import UpstreamError


class ModelBusy(UpstreamError):
    """The model service is temporarily unavailable (ServiceUnavailable, ModelNotReady): retryable."""
