"""Chat-specific error types on top of chatbot_common.errors."""

from __future__ import annotations

from chatbot_common.errors import Conflict, UpstreamError


class ModelBusy(UpstreamError):
    """The model service is temporarily unavailable (ServiceUnavailable, ModelNotReady): retryable."""


class ConversationDeleted(Conflict):
    """The conversation was deleted while its answer was being generated: the model call is
    stopped and the answer is not stored (it would have no conversation to belong to)."""

    code = "conversation_deleted"
