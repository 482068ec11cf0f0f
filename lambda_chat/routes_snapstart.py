"""POST /snapstart/before-checkpoint: the Web Adapter's SnapStart hook (chatbot_common.snapstart).

Called once per published version, before Lambda takes the snapshot, with no request being
served: the app runs whole chat turns offline (lambda_chat.priming.warm_up_turns) so that every
environment restored from the snapshot answers its first request warm. 404 unless the app was
built with `snapstart_hooks` (cdk/ sets it only with snapStart on). A failed warm-up is logged
and answered 200: the adapter would otherwise fail the version's publication, and an app that is
not warmed is still correct.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from chatbot_common.errors import NotFound
from chatbot_common.snapstart import BEFORE_CHECKPOINT_PATH
from lambda_chat.services import Services

router = APIRouter(include_in_schema=False)


@router.post(BEFORE_CHECKPOINT_PATH)
async def before_checkpoint(request: Request, services: Services) -> dict[str, Any]:
    """Run the warm-up; answers {"warmUpRequests": n, "ms": duration} (n is 0 when it failed)."""
    warm_up = getattr(request.app.state, "warm_up", None)
    if warm_up is None:
        raise NotFound("SnapStart hooks are not enabled")
    started = time.perf_counter()
    try:
        answered = await warm_up()
    except Exception as exc:  # a snapshot of an app not warmed up is still correct
        services.logger.warning("snapstart warm-up failed", extra={"error": repr(exc)})
        answered = 0
    return {"warmUpRequests": answered, "ms": round((time.perf_counter() - started) * 1000, 1)}
