"""A local Amazon Bedrock Runtime: Converse, ConverseStream, InvokeModel(+stream) and CountTokens on
the real wire protocol (HTTP/1.x and h2c), backed by an embedded GGUF model (xllamacpp) or a
scripted engine for tests.

Layout (as moto's and LocalStack's emulators): `routes` (route table), `responses` (per-operation
wire parsing/serialising; `converse`, `invoke` hold the body formats), `validation` (botocore's
model + Bedrock's rules), `backend` (state), engines (`scripted`, `embedded`), `developer_api`
(`/health`, `/_local/*`), `exceptions` (named as the AWS error codes), `server` (hypercorn)."""

from local_stack.bedrock_runtime.embedded import DEFAULT_MODEL_ID, EmbeddedEngine, default_model_path
from local_stack.bedrock_runtime.engine import Engine, ModelDescription
from local_stack.bedrock_runtime.faults import FaultInjector
from local_stack.bedrock_runtime.scripted import ScriptedEngine, ScriptedToolCall
from local_stack.bedrock_runtime.server import RunningRuntime, RuntimeServer, create_server, serve_in_thread

__all__ = [
    "DEFAULT_MODEL_ID",
    "EmbeddedEngine",
    "Engine",
    "FaultInjector",
    "ModelDescription",
    "RunningRuntime",
    "RuntimeServer",
    "ScriptedEngine",
    "ScriptedToolCall",
    "create_server",
    "default_model_path",
    "serve_in_thread",
]
