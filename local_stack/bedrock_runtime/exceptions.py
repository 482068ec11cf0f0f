"""Bedrock Runtime's errors, named exactly as the AWS error codes, with their HTTP status.

botocore reads the error code from the `x-amzn-errortype` header (the part before `:`), so a client
raises exactly the exception class it would raise against AWS. Inside a ConverseStream or
InvokeModelWithResponseStream an error travels as an event-stream exception whose `:exception-type`
is the lower-camel member name of the stream union (`stream_member`).

Codes and statuses: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
("Errors") and the `ConverseStreamOutput` / `ResponseStream` unions in botocore's service model.
"""

from __future__ import annotations


class BedrockError(Exception):
    """Base of every error the runtime answers; `message` is the JSON body's `message`."""

    error_type = "InternalServerException"
    status = 500
    # Member name used when the error is sent as an event inside a stream.
    stream_member = "internalServerException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InternalServerException(BedrockError):
    pass


class ValidationException(BedrockError):
    error_type = "ValidationException"
    status = 400
    stream_member = "validationException"


class AccessDeniedException(BedrockError):
    error_type = "AccessDeniedException"
    status = 403


class ThrottlingException(BedrockError):
    error_type = "ThrottlingException"
    status = 429
    stream_member = "throttlingException"


class ServiceUnavailableException(BedrockError):
    error_type = "ServiceUnavailableException"
    status = 503
    stream_member = "serviceUnavailableException"


class ModelStreamErrorException(BedrockError):
    error_type = "ModelStreamErrorException"
    status = 424
    stream_member = "modelStreamErrorException"


class ModelTimeoutException(BedrockError):
    error_type = "ModelTimeoutException"
    status = 408
    stream_member = "modelTimeoutException"


class ModelNotReadyException(BedrockError):
    error_type = "ModelNotReadyException"
    status = 429
    stream_member = "serviceUnavailableException"


class ModelErrorException(BedrockError):
    error_type = "ModelErrorException"
    status = 424
    stream_member = "internalServerException"


class ResourceNotFoundException(BedrockError):
    error_type = "ResourceNotFoundException"
    status = 404
    stream_member = "internalServerException"


class UnknownOperationException(BedrockError):
    error_type = "UnknownOperationException"
    status = 404


# Exceptions a stream may carry, by member name, for fault injection (`/_local/faults`).
# ConverseStream documents the first five; InvokeModelWithResponseStream adds modelTimeoutException.
STREAM_EXCEPTIONS: dict[str, type[BedrockError]] = {
    "internalServerException": InternalServerException,
    "modelStreamErrorException": ModelStreamErrorException,
    "validationException": ValidationException,
    "throttlingException": ThrottlingException,
    "serviceUnavailableException": ServiceUnavailableException,
    "modelTimeoutException": ModelTimeoutException,
}
