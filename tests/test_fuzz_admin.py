"""Schemathesis against the OpenAPI documents of the three admin APIs: every documented operation of
the token service, the directory and notifications, with inputs that fit the document and inputs that do not,
sent with the deployment key, a tenant key, another tenant's key and keys nobody issued. Whatever is sent:
never a 5xx, always an answer (no hang), every error an RFC 9457 problem, and a refused request changes no data.

The apps run in-process on fresh databases of the engine under test, wired to each other as their own tests
wire them; path parameters are often swapped for ids that exist, so handlers meet real rows. Each service's
test asserts how many requests it sent: MIN_REQUESTS in all, which with tests/test_fuzz_scim.py's share makes the
run's 10,000 generated requests or more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

import directory
import notifications
import token_service
from shared.testing import InProcessClient, fresh_database_url, local_env

from .fuzzing import TALLY, answered_within, assert_total

PROBLEM = "application/problem+json"
HANG_SECONDS = 15.0  # far above any answer; only a request that never returns reaches it
SHARES = {"token-service": 1_000, "directory": 1_000, "notifications": 400}
MIN_REQUESTS = sum(SHARES.values())
# Hypothesis keeps caches (constants it found in the code under test) in ./.hypothesis unless told otherwise:
# under var/, which git ignores, so a run leaves the work tree as it found it.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).resolve().parents[1] / "var" / "hypothesis"))
FUZZ = settings(deadline=None, database=None, derandomize=not os.environ.get("FUZZ_EXPLORE"),
                suppress_health_check=list(HealthCheck), print_blob=True)
TENANT, OTHER = "acme", "globex"


# --- the apps, wired in-process --------------------------------------------------------------------


@dataclass
class Apps:
    env: dict[str, str]
    token: Flask
    directory: Flask
    notifications: Flask
    deliveries: list[Any] = field(default_factory=list)


def build_apps(tmp: Path) -> Apps:
    env = local_env(tmp, LOG_LEVEL="WARNING", RELAY_SECONDS="0", SILENCE_CHECK_SECONDS="0")
    token_app = token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp, "token-service")})
    directory_app = directory.create_app({**env, "DATABASE_URL": fresh_database_url(tmp, "directory")})
    notifications_app = notifications.create_app({**env, "DATABASE_URL": fresh_database_url(tmp, "notifications")})
    token_client = InProcessClient(token_app, env["INTERNAL_API_KEY"])
    directory_app.extensions["admin_verifier"].token_service = token_client
    notifications_app.extensions["token_service"] = token_client
    notifications_app.extensions["admin_verifier"].token_service = token_client
    notifications_app.extensions["directory"] = InProcessClient(directory_app, env["INTERNAL_API_KEY"])
    apps = Apps(env, token_app, directory_app, notifications_app)
    # The fuzzer writes webhook URLs of its own choosing: deliveries are recorded here, never sent anywhere.
    notifications_app.extensions["webhooks"].enqueue = lambda tenant, events: apps.deliveries.append(tenant)
    return apps


def call(app: Flask, method: str, path: str, key: str, body: Any = None, internal: bool = False) -> Any:
    headers = {"X-Internal-Key": key} if internal else {"Authorization": f"Bearer {key}"}
    resp = app.test_client().open(path, method=method, json=body, headers=headers)
    assert resp.status_code < 300, (path, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_json(silent=True)


# --- what exists, so that path parameters can name it ---------------------------------------------------


@dataclass
class Known:
    """Ids per path parameter name; the fuzzer grows them from 201 answers."""

    ids: dict[str, list[str]]
    keys: dict[str, str]  # credential name -> admin key

    def add(self, name: str, value: Any) -> None:
        if isinstance(value, str | int) and str(value) not in self.ids.setdefault(name, []):
            self.ids[name].append(str(value))

    def forget(self, path_parameters: dict[str, Any]) -> None:
        """After a DELETE: its resource's id names nothing now (the tenant stays; it was not deleted)."""
        for name, value in path_parameters.items():
            ids = self.ids.get(name, [])
            if name != "tenant" and str(value) in ids and len(ids) > 1:
                ids.remove(str(value))


def seed(apps: Apps) -> Known:
    admin, internal = apps.env["ADMIN_API_KEY"], apps.env["INTERNAL_API_KEY"]
    keys = {"deployment": admin}
    known = Known({"tenant": [TENANT]}, keys)
    for tenant in (TENANT, OTHER):
        call(apps.token, "POST", "/admin/v1/tenants", admin, {"id": tenant})
        keys[tenant] = call(apps.token, "POST", f"/admin/v1/tenants/{tenant}/admin-keys", admin, {"name": "ops"})["key"]
    for name in ("victim-1", "victim-2", "victim-3"):  # keys the fuzzer may revoke, not the ones it signs in with
        known.add("key_id", call(apps.token, "POST", f"/admin/v1/tenants/{TENANT}/admin-keys", admin,
                                 {"name": name})["id"])
    known.add("token_id", call(apps.token, "POST", f"/admin/v1/tenants/{TENANT}/tokens", admin, {})["id"])
    seed_directory(apps, admin, internal, known)
    seed_notifications(apps, internal, known)
    return known


def seed_directory(apps: Apps, admin: str, internal: str, known: Known) -> None:
    base = f"/admin/v1/tenants/{TENANT}"
    call(apps.directory, "POST", f"{base}/custom-attributes", admin, {"name": "custAttr1"})
    known.add("name", "custAttr1")
    for i in range(4):
        body = {"userName": f"scim{i}@contoso.com", "active": True, "name": {"givenName": "A", "familyName": "B"},
                "emails": [{"value": f"scim{i}@contoso.com", "type": "work", "primary": True}]}
        known.add("user_id", call(apps.directory, "POST", f"/internal/v1/tenants/{TENANT}/users", internal, body,
                                  internal=True)["id"])
    for i, source in enumerate(("local", "ldap", "entra_user_source")):
        body = {"userName": f"{source}{i}@contoso.com", "source": source,
                "name": {"givenName": "L", "familyName": "U"}, "emails": [{"value": f"{source}{i}@contoso.com"}]}
        known.add("user_id", call(apps.directory, "POST", f"{base}/users", admin, body)["id"])
    group = {"displayName": "Sales", "members": [{"value": u} for u in known.ids["user_id"][:2]]}
    known.add("group_id", call(apps.directory, "POST", f"/internal/v1/tenants/{TENANT}/groups", internal, group,
                               internal=True)["id"])


def seed_notifications(apps: Apps, internal: str, known: Known) -> None:
    """Refused and partial sync outcomes, as the directory's relay delivers them: open notifications."""
    start = dt.datetime(2026, 11, 23, 8, 0, 0)
    items = [{"id": i + 1, "time": (start + dt.timedelta(minutes=i)).isoformat() + "Z", "operation": "POST /Users",
              "subjectId": None, "subjectName": f"u{i}@contoso.com", "status": "refused", "stored": [],
              "dropped": [], "refusal": {"attribute": attribute, "reason": "invalid_value", "detail": "missing"}}
             for i, attribute in enumerate(("emails", "name", "userName"))]
    call(apps.notifications, "POST", f"/internal/v1/tenants/{TENANT}/outcomes", internal, {"items": items},
         internal=True)
    listed = call(apps.notifications, "GET", f"/admin/v1/tenants/{TENANT}/notifications", apps.env["ADMIN_API_KEY"])
    assert listed["items"], "the refused outcomes raised no notification"
    for notification in listed["items"]:
        known.add("notification_id", notification["id"])


# --- each answer's checks -----------------------------------------------------------------------------


def table_digest(db: Any, models: tuple[Any, ...]) -> tuple[str, ...]:
    """Every row of every table the API may change, digested: a refused request must leave it as it was."""
    out = []
    for model in models:
        rows = db.execute_sql(f'SELECT * FROM "{model._meta.table_name}"').fetchall()
        out.append(hashlib.sha256(repr(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest())
    return tuple(out)


@dataclass
class Fuzzer:
    """Sends schemathesis cases with a credential and checks each answer; refused ones must leave every table
    as it was (the digest is recomputed only after a request that may have changed something)."""

    known: Known
    fingerprint: Callable[[], tuple[str, ...]]
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    _known: tuple[str, ...] | None = None

    def __call__(self, case: Any, credential: str, client: str = "127.0.0.1") -> Any:
        before = self._known if self._known is not None else self.fingerprint()
        key = self.known.keys.get(credential, credential)
        with answered_within(HANG_SECONDS):
            response = send(case, key, client)
        self.sent += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        where = (case.method, case.formatted_path, case.query, getattr(case, "body", None), credential[:20])
        assert response.status_code < 500, (where, response.status_code, response.get_data()[:1000])
        self._known = None
        if response.status_code >= 400:
            check_problem(response, where)
            self._known = self.fingerprint()
            assert self._known == before, ("a refused request changed data", where, response.status_code)
        return response


def send(case: Any, key: str, client: str) -> Any:
    """The case as schemathesis serialises it, through the app's own test client, with our credential.

    Not case.call(): for a negative case of a header, schemathesis drops that header from the request, and the
    Authorization header is one (the document's security scheme), which would send issued keys as no key.
    """
    kwargs = case.as_transport_kwargs(headers={"Authorization": f"Bearer {key}"})
    if not key:
        kwargs["headers"].pop("Authorization")
    return case.operation.app.test_client().open(**kwargs, environ_base={"REMOTE_ADDR": client})


def check_problem(response: Any, where: Any) -> None:
    """RFC 9457: every error of an admin API is a problem body with its status."""
    assert response.mimetype == PROBLEM, (where, response.status_code, response.mimetype)
    doc = response.get_json()
    assert doc["status"] == response.status_code and doc["detail"], (where, doc)
    if response.status_code == 401:
        assert response.headers.get("WWW-Authenticate"), where


# --- generation ----------------------------------------------------------------------------------------

# Keys that were issued (the deployment's, the tenant's, another tenant's), then keys nobody issued.
CREDENTIALS = st.sampled_from(["deployment", "deployment", TENANT, OTHER])
BAD_CREDENTIALS = st.one_of(st.sampled_from(["", "sta_" + "0" * 43, "not-a-key", "Basic eDp4", "null"]),
                            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60))
# Mostly callers of their own (documentation addresses, in-process only), so that most refusals go through the
# whole key check; one caller often enough to be answered 429 once past AUTH_FAILURE_LIMIT.
CLIENTS = st.one_of(st.just("127.0.0.1"), st.integers(1, 254).map(lambda i: f"198.51.100.{i}"))
# Where a created resource's id goes, by operation path (so later cases name what the fuzzer made).
CREATED = {"/admin/v1/tenants/{tenant}/tokens": "token_id", "/admin/v1/tenants/{tenant}/admin-keys": "key_id",
           "/admin/v1/tenants/{tenant}/users": "user_id"}


def cases(app: Flask) -> st.SearchStrategy[Any]:
    """Every documented operation of the app, with fitting and unfitting inputs alike."""
    schema = schemathesis.openapi.from_wsgi("/admin/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    return st.one_of([op.as_strategy(generation_mode=mode) for op in operations
                      for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)])


def aim(case: Any, known: Known, choices: list[int]) -> None:
    """Most path parameters name something that exists; the rest stay as generated."""
    for (name, value), choice in zip(sorted((case.path_parameters or {}).items()), choices, strict=False):
        ids = known.ids.get(name)
        if ids and choice % 8 != 7:  # hypothesis favours 0: that one aims
            case.path_parameters[name] = ids[choice % len(ids)]
        elif not isinstance(value, str | int):
            case.path_parameters[name] = json.dumps(value)


def fuzz_service(request: pytest.FixtureRequest, app: Flask, fuzzer: Fuzzer, share: str) -> None:
    """Each case twice: with an issued key, then with one nobody issued, which is refused and changes nothing."""
    @settings(FUZZ, max_examples=-(-SHARES[share] // 2))
    @given(case=cases(app), credential=CREDENTIALS, bad=BAD_CREDENTIALS, client=CLIENTS,
           choices=st.lists(st.integers(0, 2**16), min_size=3, max_size=3))
    def run(case: Any, credential: str, bad: str, client: str, choices: list[int]) -> None:
        aim(case, fuzzer.known, choices)
        response = fuzzer(case, credential)
        if response.status_code == 201 and case.operation.path in CREATED:
            fuzzer.known.add(CREATED[case.operation.path], response.get_json().get("id"))
        if response.status_code == 204 and case.method == "DELETE":
            fuzzer.known.forget(case.path_parameters)
        refused = fuzzer(case, bad, client)
        # 401, or 429 past AUTH_FAILURE_LIMIT; 404 only where no route matched, before any key is read (a
        # notification id that is no number in range).
        assert refused.status_code in (401, 404, 429), (case.formatted_path, bad[:20], refused.status_code)

    before = fuzzer.sent
    run()
    request.node.user_properties.append((TALLY, fuzzer.sent - before))
    assert fuzzer.sent - before >= SHARES[share], (share, fuzzer.sent - before, fuzzer.statuses)


# --- the run's total --------------------------------------------------------------------------------------

# --- the tests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Apps, Known]]:
    built = build_apps(tmp_path_factory.mktemp("fuzz-admin"))
    yield built, seed(built)
    built.notifications.extensions["silence_watcher"].stop()
    built.notifications.extensions["relay_worker"].stop()
    from directory.models import db as directory_db
    from notifications.models import db as notifications_db
    from token_service.models import db as token_db

    for db in (token_db, directory_db, notifications_db):
        close_all = getattr(db.obj, "close_all", None)
        if close_all is not None:  # PostgreSQL pool: free the connections so the test database can go
            close_all()


def test_token_service_admin_api(apps: tuple[Apps, Known], request: pytest.FixtureRequest) -> None:
    from token_service.models import MODELS, db

    built, known = apps
    fuzz_service(request, built.token, Fuzzer(known, lambda: table_digest(db, MODELS)), "token-service")


def test_directory_admin_api(apps: tuple[Apps, Known], request: pytest.FixtureRequest) -> None:
    from directory.models import MODELS, db

    built, known = apps
    fuzz_service(request, built.directory, Fuzzer(known, lambda: table_digest(db, MODELS)), "directory")


def test_notifications_admin_api(apps: tuple[Apps, Known], request: pytest.FixtureRequest) -> None:
    from notifications.models import MODELS, db

    built, known = apps
    fuzz_service(request, built.notifications, Fuzzer(known, lambda: table_digest(db, MODELS)), "notifications")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("notification_id", ["99999999999999999999", "9223372036854775808", "2147483648", "0"])
def test_notification_ids_past_the_column_are_missing_not_a_500(apps: tuple[Apps, Known], method: str,
                                                                 notification_id: str,
                                                                 request: pytest.FixtureRequest) -> None:
    """Found by this fuzzing: an id past 2**63 reached SQLite, which cannot bind it (OverflowError, a 500)."""
    request.node.user_properties.append((TALLY, 0))  # a fixed input: it counts for none of the generated ones
    built, known = apps
    path = f"/admin/v1/tenants/{TENANT}/notifications/{notification_id}" + ("/acknowledge" if method == "POST" else "")
    resp = built.notifications.test_client().open(path, method=method,
                                                  headers={"Authorization": f"Bearer {known.keys['deployment']}"})
    assert resp.status_code == 404 and resp.mimetype == PROBLEM, resp.get_data(as_text=True)


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("path", ["/migration/leftovers", "/audit"])
def test_times_that_leave_the_calendar_in_utc_are_invalid_not_a_500(apps: tuple[Apps, Known], path: str,
                                                                     since: str,
                                                                     request: pytest.FixtureRequest) -> None:
    """Found by this fuzzing: an aware time whose UTC falls in year 0 or 10000 was an OverflowError, a 500."""
    request.node.user_properties.append((TALLY, 0))  # a fixed input: it counts for none of the generated ones
    built, known = apps
    resp = built.directory.test_client().get(f"/admin/v1/tenants/{TENANT}{path}", query_string={"since": since},
                                             headers={"Authorization": f"Bearer {known.keys['deployment']}"})
    assert resp.status_code == 422 and resp.mimetype == PROBLEM, resp.get_data(as_text=True)
    assert list(resp.get_json()["errors"]["query"]) == ["since"]  # the field, named as for any invalid query


def test_the_run_sends_at_least_ten_thousand_requests(request: pytest.FixtureRequest) -> None:
    """10,000 generated requests or more per run, counted as sent. Both fuzz files end with this test,
    so the one that runs last sees the count every fuzz test of the session left on its report item."""
    assert_total(request, MIN_REQUESTS)
