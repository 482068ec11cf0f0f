"""Domain modules log through stdlib loggers; their lines reach the app's structured JSON output
with their `extra` fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Logger

from chatbot_common.logs import route_package_loggers
from chatbot_common.settings import Settings
from lambda_chat.app import APP_PACKAGES, create_app
from tests.fakes.chat import FakeDirectory, FakeModel, FakeStore


@pytest.fixture
def restore_package_loggers() -> Iterator[None]:
    saved = {}
    for name in APP_PACKAGES:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.propagate, logger.level)
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def test_a_domain_log_line_keeps_its_extra_fields_in_the_json_output(restore_package_loggers: None) -> None:
    # Given a Powertools logger writing JSON to a sink, routed to the app's packages
    sink = io.StringIO()
    app_logger = Logger(service="test-routing", logger_handler=logging.StreamHandler(sink))
    route_package_loggers(app_logger, APP_PACKAGES)

    # When a domain module logs through its stdlib logger with extra fields
    logging.getLogger("lambda_chat.domain.chat").warning("turn stored late", extra={"conversation_id": "c-1"})

    # Then the line is the app's JSON, with the extra field, the level and the module's name
    (line,) = [json.loads(text) for text in sink.getvalue().splitlines()]
    assert line["message"] == "turn stored late"
    assert line["conversation_id"] == "c-1"
    assert line["level"] == "WARNING"
    assert line["service"] == "test-routing"
    assert line["name"] == "lambda_chat.domain.chat"


def test_the_chat_app_routes_its_packages_through_its_logger(restore_package_loggers: None) -> None:
    settings = Settings(table_name="unit-table", uploads_bucket="unit-bucket")
    create_app(settings, store=FakeStore(), model=FakeModel(), model_directory=FakeDirectory())

    chat_handlers = Logger(service="chat").handlers
    for name in APP_PACKAGES:
        assert logging.getLogger(name).handlers == chat_handlers
        assert logging.getLogger(name).propagate is False
