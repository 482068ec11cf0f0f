"""Document routes (POST /documents/{uploadId}/summary): filled in by the documents work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
