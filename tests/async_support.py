"""Run a coroutine to completion from a synchronous test.

Playwright's sync API (tests/e2e) keeps an event loop running in the main thread for the rest of
the session, where `asyncio.run` refuses to start; a short-lived worker thread has no loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
