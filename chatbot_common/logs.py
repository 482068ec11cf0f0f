"""One logging configuration for every logger of an app.

Domain and adapter modules log through stdlib loggers (`logging.getLogger(__name__)`: no
Powertools import in the domain). The apps route those loggers through their Powertools `Logger`,
so every line is the same structured JSON (service, correlation id, `extra` fields kept) that
CloudWatch Logs Insights queries. Source: Powertools for AWS Lambda (Python), Logger, "Reusing
Logger across your code" / `copy_config_to_registered_loggers`
(https://docs.powertools.aws.dev/lambda/python/latest/core/logger/).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers


def route_package_loggers(logger: Logger, packages: Iterable[str]) -> None:
    """Give the top-level stdlib loggers of `packages` (e.g. "lambda_chat") `logger`'s handler,
    formatter and level; their module loggers ("lambda_chat.domain.chat") propagate to them.

    Powertools only reconfigures loggers already registered, so the package loggers are
    registered first; reconfiguring replaces handlers, so calling it again adds no duplicates.
    """
    names = set(packages)
    for name in names:
        logging.getLogger(name)
    copy_config_to_registered_loggers(source_logger=logger, include=names)
