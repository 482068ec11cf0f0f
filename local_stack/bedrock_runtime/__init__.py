"""A local Amazon Bedrock Runtime: Converse/ConverseStream on the real wire protocol, backed by an
embedded GGUF model (xllamacpp) or a scripted engine for tests."""

from local_stack.bedrock_runtime.embedded import DEFAULT_MODEL_ID, EmbeddedEngine, default_model_path
from local_stack.bedrock_runtime.engine import Engine, ModelDescription
from local_stack.bedrock_runtime.faults import FaultInjector
from local_stack.bedrock_runtime.scripted import ScriptedEngine, ScriptedToolCall
from local_stack.bedrock_runtime.server import RunningRuntime, create_server, serve_in_thread

__all__ = [
    "DEFAULT_MODEL_ID",
    "EmbeddedEngine",
    "Engine",
    "FaultInjector",
    "ModelDescription",
    "RunningRuntime",
    "ScriptedEngine",
    "ScriptedToolCall",
    "create_server",
    "default_model_path",
    "serve_in_thread",
]
