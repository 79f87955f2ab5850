"""GET /internal/v1/activity: per tenant, its usable tokens and when Entra last used one (feeds R-NOT-1)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from shared.schemas.notifications import ActivitySchema
from token_service.models import Token

from .conftest import assert_problem, now, parse_time

ACTIVITY = "/internal/v1/activity"


def activity(client: FlaskClient, internal: dict[str, str]) -> dict[str, dict[str, Any]]:
    resp = client.get(ACTIVITY, headers=internal)
    assert resp.status_code == 200, resp.get_json()
    ActivitySchema().load(resp.get_json())  # the shared contract reads it back
    return {item["tenant"]: item for item in resp.get_json()["items"]}


def test_activity_needs_the_service_credential(client: FlaskClient) -> None:
    assert_problem(client.get(ACTIVITY), 401, "unauthorized")


def test_a_tenant_without_tokens_has_no_activity(client: FlaskClient, internal: dict[str, str], tenant: str) -> None:
    assert activity(client, internal)[tenant] == {"tenant": tenant, "tokens": 0, "last_used_at": None}


def test_activity_counts_active_tokens_and_takes_the_latest_use(client: FlaskClient, internal: dict[str, str],
                                                                 admin: dict[str, str], tenant: str, generate: Any,
                                                                 introspect: Any, create_tenant: Any) -> None:
    first, second = generate(tenant), generate(tenant)
    create_tenant("other")
    assert activity(client, internal)[tenant]["tokens"] == 2
    assert activity(client, internal)[tenant]["last_used_at"] is None
    before = now().replace(microsecond=0)
    assert introspect(first["token"])["active"] is True
    seen = activity(client, internal)
    assert before <= parse_time(seen[tenant]["last_used_at"]) <= now()
    assert seen["other"]["last_used_at"] is None
    # Inactive tokens do not count as set up, but their last use still says when Entra last called.
    client.post(f"/admin/v1/tenants/{tenant}/tokens/{second['id']}/deactivate", headers=admin)
    assert activity(client, internal)[tenant]["tokens"] == 1
    Token.update(last_used_at=now().replace(year=2020)).where(Token.id == first["id"]).execute()
    Token.update(last_used_at=now().replace(year=2021)).where(Token.id == second["id"]).execute()
    assert activity(client, internal)[tenant]["last_used_at"].startswith("2021-")
