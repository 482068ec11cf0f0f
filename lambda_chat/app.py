"""The chat Lambda's ASGI app. Same app under the AWS Lambda Web Adapter and under uvicorn:

    uvicorn --factory lambda_chat.app:serve_app      (what run.sh runs on Lambda)
    uvicorn --factory lambda_chat.app:create_app     (or lambda_chat.app:app, built on first access)

Everything heavy (settings validation, AWS clients, langchain-aws, and the offline priming of a
chat turn: lambda_chat.priming) happens here, once, at start-up; nothing reads the environment
at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from fastapi import FastAPI

from chatbot_common.aws_clients import AwsClients, create_clients
from chatbot_common.http import (
    RequestSizeLimit,
    identity_dependency,
    install_error_handlers,
    install_request_logging,
)
from chatbot_common.identity import Identity
from chatbot_common.logs import route_package_loggers
from chatbot_common.model_table import ModelTable, load_model_table
from chatbot_common.observability_names import CHAT_SERVICE_NAME
from chatbot_common.settings import Settings, get_settings
from chatbot_common.upload_records import DynamoUploadRecords
from lambda_chat import (
    routes_chat,
    routes_compare,
    routes_conversations,
    routes_documents,
    routes_meta,
    routes_prompts,
    routes_search,
    routes_snapstart,
    routes_tools,
)

# langchain-aws is the slowest import (~1.6 s); importing it with the app module puts it in the
# start-up phase (where SnapStart can capture it), never in a request.
from lambda_chat.adapters.bedrock_models import BedrockChatModel, BedrockModelDirectory
from lambda_chat.adapters.conversation_store import ConversationStore
from lambda_chat.adapters.metrics import emit_call_metrics, emit_model_throttle, emit_tool_metrics
from lambda_chat.adapters.prompt_store import PromptStore
from lambda_chat.attachments.resolver import UploadAttachmentResolver
from lambda_chat.attachments.summary_service import DocumentSummaryService
from lambda_chat.attachments.wiring import (
    build_attachment_resolver,
    build_document_library,
    build_summary_service,
)
from lambda_chat.domain.catalog import ModelCatalog
from lambda_chat.domain.chat import ChatConfig, ChatService
from lambda_chat.domain.comparisons import ComparisonService
from lambda_chat.domain.conversations import ConversationService
from lambda_chat.domain.entities import CallRecord
from lambda_chat.domain.ports import (
    AttachmentResolver,
    ChatModel,
    ConversationRepository,
    ModelDirectory,
    ModelRequest,
)
from lambda_chat.domain.prompts import PromptRepository, PromptService
from lambda_chat.domain.retry import RetryingChatModel, RetryPolicy
from lambda_chat.idempotency import IdempotentOperations, dynamodb_persistence
from lambda_chat.priming import (
    PRIMING_USER,
    TURN_MODEL_BODIES,
    TURN_TABLE_BODIES,
    freeze_start_up_heap,
    prime_dynamodb,
    prime_event_loop,
    prime_model_list,
    prime_routes,
    run_priming,
    warm_up_turns,
)
from lambda_chat.services import ChatServices, current_identity
from lambda_chat.tools.agent_loop import AgentConfig
from lambda_chat.tools.document_search import DocumentSearch
from lambda_chat.tools.mcp_servers import AwsSecretSource, McpToolSource, parse_mcp_servers
from lambda_chat.tools.tool_catalog import ToolCatalog, builtin_tools

# Packages whose stdlib loggers write through the app's Powertools logger.
APP_PACKAGES = ("lambda_chat", "chatbot_common")


def create_app(
    settings: Settings | None = None,
    *,
    store: ConversationRepository | None = None,
    model: ChatModel | None = None,
    attachments: AttachmentResolver | None = None,
    model_directory: ModelDirectory | None = None,
    retry_policy: RetryPolicy | None = None,
    clients: AwsClients | None = None,
    idempotency: IdempotentOperations | None = None,
    prompts: PromptRepository | None = None,
    tools: ToolCatalog | None = None,
) -> FastAPI:
    """Build the chat app. Anything not passed in is built from `settings` (default: environment)
    and `clients` (default: `create_clients(settings.region)`, boto3's own credential chain);
    `idempotency` is built with the DynamoDB store (an app given another store has none unless
    passed one). `tools` defaults to the built-ins (search_documents when there is a document
    library) plus the tools of `settings.mcp_servers`, discovered here, at start-up."""
    settings = settings or get_settings()
    logger = Logger(service=CHAT_SERVICE_NAME)
    route_package_loggers(logger, APP_PACKAGES)

    # One-time work of a chat turn, done offline before the app serves (lambda_chat.priming).
    priming: dict[str, Callable[[], object]] = {}
    # The AWS calls of a SnapStart warm-up turn, answered offline (only when this app built both
    # its store and its model from `clients`: other stores and models are not botocore's).
    turn_offline: list[tuple[Any, Mapping[str, bytes]]] = []
    if store is None or model is None or model_directory is None:
        clients = clients or create_clients(settings.region)
        if store is None:
            priming["dynamodb requests"] = partial(prime_dynamodb, clients.dynamodb, settings.table_name)
            store = ConversationStore(
                clients.dynamodb, settings.table_name, retention_days=settings.retention_days
            )
            turn_offline.append((clients.dynamodb, TURN_TABLE_BODIES))
            if idempotency is None:
                idempotency = IdempotentOperations(
                    dynamodb_persistence(clients.dynamodb, settings.table_name, function=CHAT_SERVICE_NAME),
                    expires_after_seconds=settings.idempotency_expiry_seconds,
                    in_progress_seconds=settings.idempotency_in_progress_seconds,
                )
        if model is None:
            bedrock = BedrockChatModel(
                clients.bedrock_runtime,
                clients.bedrock,
                region=settings.region,
                max_tokens=settings.max_output_tokens,
            )
            bedrock.warm_up(settings.default_model_id)
            priming["model request"] = partial(bedrock.prime, settings.default_model_id)
            turn_offline += [(clients.bedrock_runtime, TURN_MODEL_BODIES), (clients.bedrock, {})]
            model = bedrock
        if model_directory is None:
            model_directory = BedrockModelDirectory(clients.bedrock)
        if attachments is None:
            attachments = build_attachment_resolver(settings, clients)

    if prompts is None and clients is not None:
        prompts = PromptStore(clients.dynamodb, settings.table_name)

    policy = retry_policy or RetryPolicy(max_attempts=settings.model_max_attempts)

    def on_throttle(request: ModelRequest) -> None:
        emit_model_throttle(request.model_id)

    retrying = RetryingChatModel(model, policy, on_throttle=on_throttle)
    table = load_model_table(settings.model_table)  # ValueError at start-up on a bad table
    if tools is None:
        tools = _tool_catalog(settings, clients, attachments)
    catalog = ModelCatalog(
        model_directory,
        default_model_id=settings.default_model_id,
        allowed_model_ids=settings.allowed_model_ids,
    )
    priming["model list"] = partial(prime_model_list, catalog.models)
    config = ChatConfig(
        max_message_chars=settings.max_message_chars,
        max_system_chars=settings.max_system_chars,
        history_token_budget=settings.history_token_budget,
        history_max_messages=settings.history_max_messages,
        max_output_tokens=settings.max_output_tokens,
    )

    def observe_call(record: CallRecord) -> None:
        _observe_call(logger, record)

    # Chat turns get the raw model: the agent loop retries each model call itself, knowing which
    # step a chunk belongs to (a retry after a toolUse chunk would duplicate it).
    chat = ChatService(
        store,
        model,
        catalog,
        config,
        attachments=attachments,
        on_call=observe_call,
        table=table,
        tools=tools,
        agent=AgentConfig(max_steps=settings.tool_max_steps),
        retry=policy,
        on_throttle=on_throttle,
        on_tool=emit_tool_metrics,
    )
    services = ChatServices(
        settings=settings,
        logger=logger,
        store=store,
        model=retrying,
        catalog=catalog,
        chat=chat,
        conversations=ConversationService(
            store,
            catalog,
            max_system_chars=settings.max_system_chars,
            table=table,
            require_tools=lambda names: tools.snapshot().registry.require(names),
        ),
        attachments=attachments,
        identity=identity_dependency(settings),
        clients=clients,
        summaries=_summary_service(
            settings, clients, attachments, store, retrying, catalog, observe_call, table
        ),
        idempotency=idempotency,
        prompts=PromptService(prompts, max_text_chars=settings.max_system_chars)
        if prompts is not None
        else None,
        comparisons=ComparisonService(
            store, retrying, catalog, chat, config, table=table, on_call=observe_call
        ),
    )

    app = FastAPI(
        title="Bedrock chatbot: chat service",
        version="0.1.0",
        description="Conversations with Amazon Bedrock models. See docs/api.md.",
        # GET /openapi.json serves the whole API's document (both apps), see routes_meta.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # "/conversations/" is a 404 like any unknown path: Starlette's redirect to the path
        # without the slash names this app's own path, which behind the page's /api prefix or an
        # API Gateway stage is not where the client is.
        redirect_slashes=False,
    )
    app.state.services = services
    install_error_handlers(app, logger)
    install_request_logging(app, logger)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.include_router(routes_meta.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_compare.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_search.router)
    app.include_router(routes_prompts.router)
    app.include_router(routes_tools.router)
    app.include_router(routes_snapstart.router)
    if settings.snapstart_hooks and len(turn_offline) == 3:
        app.state.warm_up = partial(_warm_up, app, turn_offline, catalog)
    priming["routes"] = partial(prime_routes, app)
    priming["event loop"] = prime_event_loop
    app.state.priming_ms = run_priming(logger, priming)
    return app


# Warm-up turns the SnapStart hook runs (0.4 s, once per published version): first / warm after it
# was 1.33 (median of 6 processes) with ten, 1.30 with thirty, against 1.6-1.7 without (docs/benchmarks.md).
WARM_UP_TURNS = 30


async def _warm_up(
    app: FastAPI, offline: list[tuple[Any, Mapping[str, bytes]]], catalog: ModelCatalog
) -> int:
    """`lambda_chat.priming.warm_up_turns` as a warm-up user (FastAPI's dependency override of the
    caller's identity, removed after). The model list is loaded first, for real (read-only): the
    turns read it while the control plane is offline. Returns the requests answered."""
    import anyio

    await anyio.to_thread.run_sync(catalog.models)
    app.dependency_overrides[current_identity] = lambda: Identity(user_id=PRIMING_USER, username=PRIMING_USER)
    try:
        return await warm_up_turns(app, offline, WARM_UP_TURNS)
    finally:
        app.dependency_overrides.pop(current_identity, None)


def _tool_catalog(
    settings: Settings, clients: AwsClients | None, attachments: AttachmentResolver | None
) -> ToolCatalog:
    """The built-ins, and the tools of the deployer's MCP servers (discovered now, within
    `mcp_discovery_seconds`: a Lambda's init phase has 10 s in all; a server that does not
    answer is left out with a notice and retried later)."""
    search = None
    if clients is not None:
        if isinstance(attachments, UploadAttachmentResolver):
            library = attachments.library
        else:
            library = build_document_library(settings, clients)
        listing = DynamoUploadRecords(clients.dynamodb, settings.table_name, consistent_reads=False)
        search = DocumentSearch(library, listing)
    servers = parse_mcp_servers(settings.mcp_servers)
    mcp = None
    if servers:
        secrets = AwsSecretSource(clients.ssm, clients.secretsmanager) if clients is not None else None
        mcp = McpToolSource(servers, secrets)
        mcp.discover(budget_seconds=settings.mcp_discovery_seconds)
    return ToolCatalog(builtin_tools(search), mcp)


def _observe_call(logger: Logger, record: CallRecord) -> None:
    """Every model call: one structured log line and its CloudWatch metrics."""
    logger.info("model call", extra={"call": asdict(record)})
    emit_call_metrics(record)


def _summary_service(
    settings: Settings,
    clients: AwsClients | None,
    attachments: AttachmentResolver | None,
    store: ConversationRepository,
    model: ChatModel,
    catalog: ModelCatalog,
    on_call: Callable[[CallRecord], None],
    table: ModelTable | None = None,
) -> DocumentSummaryService | None:
    """Summaries read documents through the resolver's library (and its clients) when there is one."""
    if isinstance(attachments, UploadAttachmentResolver):
        library = attachments.library
    elif clients is not None:
        library = build_document_library(settings, clients)
    else:
        return None
    return build_summary_service(library, store, model, catalog, settings, on_call=on_call, table=table)


def serve_app() -> FastAPI:
    """The serving process's factory (run.sh: `uvicorn --factory lambda_chat.app:serve_app`):
    `create_app()` from the environment, then its start-up heap frozen for the garbage collector
    (`lambda_chat.priming.freeze_start_up_heap`), so a full collection during a request no longer
    scans it. Not for processes that build many apps (tests): what they freeze stays."""
    app = create_app()
    app.state.frozen_objects = freeze_start_up_heap()
    return app


_default_app: FastAPI | None = None
_default_app_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    """`lambda_chat.app:app` (docs/api.md) without building anything at import: the app is
    created from the environment the first time the attribute is read."""
    global _default_app
    if name != "app":
        raise AttributeError(name)
    with _default_app_lock:
        if _default_app is None:
            _default_app = create_app()
        return _default_app
