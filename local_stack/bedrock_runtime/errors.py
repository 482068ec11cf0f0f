"""Bedrock's error types as the wire carries them: HTTP status, `x-amzn-errortype`, JSON message.

botocore reads the error code from the `x-amzn-errortype` header (the part before `:`), so a client
raises exactly the exception class it would raise against AWS.
"""

from __future__ import annotations


class BedrockError(Exception):
    error_type = "InternalServerException"
    status = 500
    # Member name used when the error is sent as an event inside a ConverseStream.
    stream_member = "internalServerException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(BedrockError):
    error_type = "ValidationException"
    status = 400
    stream_member = "validationException"


class ThrottlingError(BedrockError):
    error_type = "ThrottlingException"
    status = 429
    stream_member = "throttlingException"


class ModelStreamError(BedrockError):
    error_type = "ModelStreamErrorException"
    status = 424
    stream_member = "modelStreamErrorException"


class ModelNotReadyError(BedrockError):
    error_type = "ModelNotReadyException"
    status = 429
    stream_member = "serviceUnavailableException"


class ModelError(BedrockError):
    error_type = "ModelErrorException"
    status = 424
    stream_member = "internalServerException"


class ResourceNotFoundError(BedrockError):
    error_type = "ResourceNotFoundException"
    status = 404
    stream_member = "internalServerException"


class UnknownOperationError(BedrockError):
    error_type = "UnknownOperationException"
    status = 404
