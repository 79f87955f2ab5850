"""Notifications end to end with real processes: SCIM requests shaped as Entra sends them raise
each of the three kinds (R-NOT-1..3), later requests resolve them, and no sync outcome is lost while the
notifications service is stopped and started again in the middle of a provisioning run (R-NOT-4)."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.testing import System

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "services" / "scim-api" / "tests" / "data"
CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
WAIT_SECONDS = 20


def entra_user(user_name: str, **extra: Any) -> dict[str, Any]:
    user = copy.deepcopy(json.loads((DATA / "tut-create-user.json").read_text()))
    user.update(userName=user_name, externalId=user_name.split("@")[0], **extra)
    user["emails"][0]["value"] = user_name
    return user


class Tenant:
    def __init__(self, system: System, name: str) -> None:
        assert system.admin("POST", "/admin/v1/tenants", {"id": name}).status == 201
        issued = system.admin("POST", f"/admin/v1/tenants/{name}/tokens", {}).json()
        self.system, self.name, self.url, self.token = system, name, issued["scim_url"], issued["token"]

    def scim(self, method: str, path: str, body: Any = None) -> Any:
        return self.system.request(method, self.url + path, json_body=body, token=self.token)

    def notifications(self) -> list[dict[str, Any]]:
        resp = self.system.request("GET", f"{self.system.url('notifications')}/admin/v1/tenants/{self.name}"
                                   "/notifications", token=self.system.admin_key)
        assert resp.status == 200, resp.data
        return resp.json()["items"]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            items = self.notifications()
            if predicate(items) or time.monotonic() > deadline:
                assert predicate(items), items
                return items
            time.sleep(0.25)


def state_of(items: list[dict[str, Any]], kind: str) -> str | None:
    return next((n["state"] for n in items if n["kind"] == kind), None)


def test_refused_and_partial_writes_raise_and_later_writes_resolve(system: System) -> None:
    """R-NOT-2 (a user without email) and R-NOT-3 (an undefined custom attribute), raised and resolved."""
    tenant = Tenant(system, f"notify-{uuid.uuid4().hex[:8]}")
    no_mail = entra_user("nomail@contoso.com")
    del no_mail["emails"]
    assert tenant.scim("POST", "/Users", no_mail).status == 400
    partial = entra_user("ann@contoso.com", **{CUSTOM: {"costCode": "42"}})
    partial["schemas"].append(CUSTOM)
    ann = tenant.scim("POST", "/Users", partial).json()
    items = tenant.wait_for(lambda n: state_of(n, "all_not_synchronized") == "open"
                            and state_of(n, "some_not_synchronized") == "open")
    refused = next(n for n in items if n["kind"] == "all_not_synchronized")
    assert "nomail@contoso.com" in json.dumps(refused) and "email" in refused["message"].lower()
    dropped = next(n for n in items if n["kind"] == "some_not_synchronized")
    assert "costCode" in json.dumps(dropped)

    # The admin fixes Entra's mapping: the user is provisioned with an email.
    assert tenant.scim("POST", "/Users", entra_user("nomail@contoso.com")).status == 201
    # The admin defines the custom attribute; Entra's next update of the user stores it.
    directory_admin = f"{system.url('directory')}/admin/v1/tenants/{tenant.name}/custom-attributes"
    assert system.request("POST", directory_admin, json_body={"name": "costCode"}, token=system.admin_key
                          ).status == 201
    update = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "Add", "path": f"{CUSTOM}:costCode", "value": "42"}]}
    assert tenant.scim("PATCH", f"/Users/{ann['id']}", update).status == 200
    tenant.wait_for(lambda n: state_of(n, "all_not_synchronized") == "resolved"
                    and state_of(n, "some_not_synchronized") == "resolved")


def test_no_outcome_is_lost_while_the_notifications_service_restarts(system: System) -> None:
    """R-NOT-4: the directory keeps every outcome; the relay reads on from where it stopped."""
    tenant = Tenant(system, f"restart-{uuid.uuid4().hex[:8]}")
    notifications = system.processes["notifications"]
    notifications.stop()
    try:
        for i in range(5):  # refused while nobody listens
            body = entra_user(f"lost{i}@contoso.com")
            del body["emails"]
            assert tenant.scim("POST", "/Users", body).status == 400
    finally:
        notifications.start()
    items = tenant.wait_for(lambda n: any(x["kind"] == "all_not_synchronized" and x["count"] == 5 for x in n))
    assert [n["kind"] for n in items] == ["all_not_synchronized"]


@pytest.fixture(scope="module")
def quick_silence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A system where Entra's silence counts after 3 s instead of 2 h, to see R-NOT-1 come and go."""
    system = System(Path(tmp_path_factory.mktemp("silence")), ENTRA_SILENCE_THRESHOLD_SECONDS="3",
                    SILENCE_CHECK_SECONDS="0.5", LAST_USED_RESOLUTION_SECONDS="1", TOKEN_STATE_CACHE_SECONDS="1",
                    RELAY_SECONDS="0.5").start()
    try:
        yield system
    finally:
        system.stop()


def test_entra_silence_raises_unreachable_and_its_next_call_resolves_it(quick_silence: System) -> None:
    """R-NOT-1: provisioning set up (a token, Entra has called), then no call for longer than the threshold."""
    tenant = Tenant(quick_silence, "silent")
    assert tenant.notifications() == []  # a token nobody used yet: not set up, nothing to say
    assert tenant.scim("GET", '/Users?filter=userName%20eq%20%22x%22').status == 200
    tenant.wait_for(lambda n: state_of(n, "entra_unreachable") == "open")
    assert tenant.scim("GET", '/Users?filter=userName%20eq%20%22x%22').status == 200
    tenant.wait_for(lambda n: state_of(n, "entra_unreachable") == "resolved")
