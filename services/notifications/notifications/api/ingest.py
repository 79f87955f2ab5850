"""POST /internal/v1/tenants/<tenant>/outcomes: the directory's relay delivers sync outcomes (R-NOT-2/3/4)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from shared.app import require_internal
from shared.errors import Problem
from shared.schemas.common import utcnow
from shared.schemas.notifications import OutcomeBatchResultSchema, OutcomeBatchSchema
from shared.tenants import check_tenant

from .. import feed

bp = Blueprint("ingest", __name__)


@bp.post("/internal/v1/tenants/<tenant>/outcomes")
@require_internal
def receive_outcomes(tenant: str) -> Any:
    """Record a batch once: a redelivered outcome id is counted as a duplicate and changes nothing."""
    check_tenant(tenant)
    try:
        batch = OutcomeBatchSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise Problem(400, "Send {'items': [sync outcome, …]} (shared.schemas.notifications).", code="invalid",
                      errors=exc.messages) from None
    result = feed.record_outcomes(tenant, batch["items"], utcnow())
    current_app.extensions["notify"](tenant, result.events)
    return jsonify(OutcomeBatchResultSchema().dump({"accepted": result.accepted, "duplicates": result.duplicates}))
