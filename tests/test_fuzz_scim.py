"""Property-based fuzzing of the SCIM API: structured-but-hostile Users, Groups, PATCH bodies in both
Entra dialects, filters, list parameters, ids, preconditions and credentials. Whatever is sent: never a 5xx,
always an answer (no hang), every error a SCIM error, and a refused request changes no directory data.

Most requests go through the real apps in-process (scim-api, token service and directory wired as in
services/scim-api/tests, each on a fresh database of the engine under test); a smaller share goes over HTTP
to the gunicorn processes of `system`. Each test asserts how many requests it sent: MIN_REQUESTS in all, which
with tests/test_fuzz_admin.py's share makes the run's 10,000 generated requests or more.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sqlite3
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import directory
import scim_api
import token_service
from scim_api.attributes import GROUP, USER, ResourceSpec
from shared.testing import InProcessClient, System, fresh_database_url, local_env

from .fuzzing import TALLY, answered_within, assert_total

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
DIALECT_FLAG = "aadOptscim062020"
HANG_SECONDS = 15.0  # far above any answer; only a request that never returns reaches it
# Per test, the requests it must send; MIN_REQUESTS is their sum.
SHARES = {"users": 1_400, "user_patches": 1_600, "groups": 1_200, "queries": 1_500, "ids": 1_000,
          "credentials": 700, "http": 400}
MIN_REQUESTS = sum(SHARES.values())
# Hypothesis keeps caches (constants it found in the code under test) in ./.hypothesis unless told otherwise:
# under var/, which git ignores, so a run leaves the work tree as it found it.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).resolve().parents[1] / "var" / "hypothesis"))
# Deterministic by default, so a CI failure reproduces; FUZZ_EXPLORE=1 draws new inputs on every run.
FUZZ = settings(deadline=None, database=None, derandomize=not os.environ.get("FUZZ_EXPLORE"),
                suppress_health_check=list(HealthCheck), print_blob=True)

def _fingerprint_sql() -> str:
    """Every directory table a write may change, reduced to a few aggregates (cheap enough for every request).
    sync_outcomes is left out on purpose: a refused write records its `refused` outcome after the rollback
    (R-DIR-13)."""
    from directory import models as m

    def table(model: Any) -> str:
        return model._meta.table_name

    parts = [f"COUNT(*) FROM {table(m.Tenant)}", f"COUNT(*) FROM {table(m.User)}",
             f"COALESCE(SUM(version), 0) FROM {table(m.User)}", f"COUNT(deleted_at) FROM {table(m.User)}",
             f"COUNT(*) FROM {table(m.User)} WHERE active", f"MAX(last_modified) FROM {table(m.User)}",
             f"COUNT(*) FROM {table(m.Group)}", f"COALESCE(SUM(version), 0) FROM {table(m.Group)}",
             f"COUNT(*) FROM {table(m.Membership)}", f"COUNT(*) FROM {table(m.CustomAttribute)}",
             f"COUNT(*) FROM {table(m.AuditEvent)}", f"COALESCE(MAX(id), 0) FROM {table(m.AuditEvent)}",
             f"COUNT(*) FROM {table(m.TenantSettings)}", f"MAX(updated_at) FROM {table(m.TenantSettings)}",
             f"COUNT(*) FROM {table(m.Invitation)}"]
    return "SELECT " + ", ".join(f"(SELECT {p})" for p in parts)


FINGERPRINT_SQL = _fingerprint_sql()


# --- requests and the checks every answer gets ------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # under the Target SCIM URL, already percent-encoded
    query: str = ""
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    token: str | None = None  # None: the fuzzer's valid token
    client: str | None = None  # the caller's address in-process (failed logins are limited per client)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fuzzer:
    """Sends requests, counts them and checks each answer; refused ones must leave the fingerprint as it was."""

    send: Callable[[Request], Answer]
    fingerprint: Callable[[], tuple[Any, ...]]
    # Answers the HTTP server in front of the app gives by itself (gunicorn: request lines over 4 KiB).
    server_refusal: Callable[[Request, Answer], bool] = lambda _request, _answer: False
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    _known: tuple[Any, ...] | None = None

    def __call__(self, request: Request) -> Answer:
        before = self._known if self._known is not None else self.fingerprint()
        answer = self.send(request)
        self.sent += 1
        self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
        where = (request.method, request.path[:300], request.query[:300], (request.body or b"")[:500])
        assert answer.status < 500, (where, answer.status, answer.body[:1000])
        if not self.server_refusal(request, answer):
            check_scim_body(answer, where)
        if 400 <= answer.status < 500 or _is_read(request):
            self._known = self.fingerprint()
            assert self._known == before, ("a refused request or a read changed directory data", where,
                                           answer.status, answer.body[:500])
        else:
            self._known = None
        return answer


def _is_read(request: Request) -> bool:
    return request.method == "GET" or request.path.endswith(".search")


def check_scim_body(answer: Answer, where: Any) -> None:
    """RFC 7644 §3.12: every error is a SCIM error, in application/scim+json, with its status as a string."""
    if answer.status in (204, 304) or answer.status < 400:
        return
    assert answer.content_type.startswith("application/scim+json"), (where, answer.content_type)
    doc = answer.json()
    assert doc["schemas"] == [ERROR] and doc["status"] == str(answer.status) and doc["detail"], (where, doc)


# --- the system under test: in-process apps ---------------------------------------------------------


@dataclass
class Target:
    """One tenant's SCIM endpoint under fuzzing, its seeded ids, and another tenant's ids it must never reach."""

    fuzz: Fuzzer
    token: str
    other_token: str
    users: list[str]
    groups: list[str]
    foreign_users: list[str]
    foreign_groups: list[str]
    restore_user: Callable[[str], None]


@dataclass
class Stack:
    scim: Flask
    token: Flask
    directory: Flask
    admin_key: str

    def scim_call(self, tenant: str, token: str, method: str, path: str, body: Any = None) -> Any:
        resp = self.scim.test_client().open(f"/scim/v2/{tenant}{path}", method=method, headers={
            "Authorization": f"Bearer {token}"}, data=json.dumps(body) if body is not None else None,
            content_type="application/scim+json")
        return resp.status_code, resp.get_json(silent=True)


def build_stack(tmp: Path) -> Stack:
    env = local_env(tmp, LOG_LEVEL="WARNING")
    token_app = token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp, "token-service")})
    directory_app = directory.create_app({**env, "DATABASE_URL": fresh_database_url(tmp, "directory")})
    app = scim_api.create_app(env)
    app.extensions["token_verifier"].token_service = InProcessClient(token_app, env["INTERNAL_API_KEY"])
    app.extensions["directory"].transport = InProcessClient(directory_app, env["INTERNAL_API_KEY"])
    return Stack(app, token_app, directory_app, env["ADMIN_API_KEY"])


def issue_token(stack: Stack, tenant: str) -> str:
    admin = stack.token.test_client()
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    assert admin.post("/admin/v1/tenants", json={"id": tenant}, headers=headers).status_code == 201
    resp = admin.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["token"]


def seed(call: Callable[..., Any], prefix: str) -> tuple[list[str], list[str]]:
    """A few users and groups with members, so ids, filters and PATCHes meet real data."""
    users = []
    for i in range(6):
        status, doc = call("POST", "/Users", seed_user(f"{prefix}{i}@contoso.com"))
        assert status == 201, doc
        users.append(doc["id"])
    groups = []
    for i in range(3):
        body = {"schemas": [GROUP_URN], "displayName": f"{prefix} group {i}",
                "members": [{"value": u} for u in users[i:i + 3]]}
        status, doc = call("POST", "/Groups", body)
        assert status == 201, doc
        groups.append(doc["id"])
    return users, groups


def seed_user(user_name: str) -> dict[str, Any]:
    return {"schemas": [USER_URN, ENTERPRISE], "userName": user_name, "active": True, "externalId": user_name[:8],
            "displayName": "Seed User", "name": {"givenName": "Seed", "familyName": "User"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}], ENTERPRISE: {"department": "Sales"},
            CUSTOM: {"custAttr1": "seeded"}}


def in_process_send(stack: Stack, tenant: str, token: str) -> Callable[[Request], Answer]:
    client = stack.scim.test_client()

    def send(request: Request) -> Answer:
        headers = {"Authorization": f"Bearer {request.token if request.token is not None else token}",
                   **dict(request.headers)}
        if request.token == "":
            del headers["Authorization"]
        with answered_within(HANG_SECONDS):
            resp = client.open(f"/scim/v2/{tenant}{request.path}", method=request.method,
                               query_string=request.query or None, data=request.body, headers=headers,
                               environ_base={"REMOTE_ADDR": request.client} if request.client else {})
        return Answer(resp.status_code, resp.headers.get("Content-Type", ""), resp.get_data(), dict(resp.headers))

    return send


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    stack = build_stack(tmp_path_factory.mktemp("fuzz-scim"))
    from directory.models import db
    from directory.tenants import define_custom_attribute

    token, other_token = issue_token(stack, "fuzz"), issue_token(stack, "other")
    with stack.directory.app_context():
        define_custom_attribute("fuzz", "custAttr1")
    users, groups = seed(lambda *a: stack.scim_call("fuzz", token, *a), "seed")
    foreign_users, foreign_groups = seed(lambda *a: stack.scim_call("other", other_token, *a), "other")
    fuzz = Fuzzer(in_process_send(stack, "fuzz", token), lambda: tuple(db.execute_sql(FINGERPRINT_SQL).fetchone()))
    before = fuzz.fingerprint()
    users.append(stack.scim_call("fuzz", token, "POST", "/Users", seed_user("last-seed@contoso.com"))[1]["id"])
    assert fuzz.fingerprint() != before  # the fingerprint sees a write, so an unchanged one means something
    yield Target(fuzz, token, other_token, users, groups, foreign_users, foreign_groups,
                 restorer(stack.directory, "fuzz"))
    close_pools(db)


def restorer(directory_app: Flask, tenant: str) -> Callable[[str], None]:
    """Bring a seeded user back after a DELETE from SCIM, as an admin does (R-DIR-4), so later PATCHes meet it."""
    from directory.admin_actions import set_active
    from directory.audit import Actor

    def restore(user_id: str) -> None:
        with directory_app.app_context():
            set_active(tenant, user_id, True, Actor(name="fuzz", source="admin"))

    return restore


def close_pools(*dbs: Any) -> None:
    for db in dbs:
        close_all = getattr(db.obj, "close_all", None)
        if close_all is not None:  # PostgreSQL pool: free the connections so the test database can go
            close_all()


SPECS = {spec.name: spec for spec in (USER, GROUP)}

# --- strategies built from the SCIM shapes --------------------------------------------------------------

HOSTILE = [
    "", " ", "\t", "x' OR 1=1 --", "'; DROP TABLE users; --", "%", "_", "\\", '"', "\\\"", "\u0000", "a\u0000b",
    "<script>alert(1)</script>", "${jndi:ldap://x}", "{{7*7}}", "../../etc/passwd", "\u202egnp.exe", "😀" * 3,
    "True", "False", "null", "0", "-1", "1e309", "NaN", "\r\nX-Injected: 1",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName", "emails[type eq \"work\"]", "\ufeff", "\u2028",
]


surrogates = st.characters(categories=["Cs"]).map(lambda c: f"a{c}b")  # json.dumps writes them as \udXXX escapes
long_texts = st.builds(lambda c, n: c * n, st.sampled_from(["x", "ä", "😀", "%"]), st.integers(257, 5_000))
plain = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=20)
odd_texts = st.one_of(st.sampled_from(HOSTILE), surrogates, long_texts, st.text(max_size=20))
names = st.text(string.ascii_letters + "0123456789._-$:[]", min_size=1, max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
                    plain, odd_texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(names, plain), inner, max_size=3)), max_leaves=6)
SERIAL = itertools.count()  # unique userNames and displayNames, so most creates are not duplicates
WORK_TYPES = st.sampled_from(["work", "home", "mobile", "fax", "other", "Work"])
# Each generator comes in two families, drawn about equally: well-formed values of the SCIM shapes, which get
# past validation into the handlers and the directory, and the same shapes with odd values anywhere in them
# (any JSON, odd text, unknown names), which try every refusal. (one_of weighs its distinct branches alike,
# whatever is repeated in it, so the mix is chosen once per body, not once per value.)
CLEAN, ODD = False, True


def text(odd: bool) -> st.SearchStrategy[str]:
    return st.one_of(plain, odd_texts) if odd else plain


def booleans(odd: bool) -> st.SearchStrategy[Any]:
    words = st.sampled_from(["True", "False", "true", "FALSE"])  # Entra's default dialect (COMPAT)
    if odd:
        return st.one_of(st.booleans(), words, st.sampled_from([" false ", "yes", "1", ""]))
    return st.one_of(st.booleans(), words)


def loose(shaped: st.SearchStrategy[Any], odd: bool) -> st.SearchStrategy[Any]:
    return st.one_of(shaped, json_values) if odd else shaped


def recase(name: str, style: int) -> str:
    """RFC 7643 §2.1: attribute names are case-insensitive, and Entra tools send 'UserName'."""
    return (name, name.lower(), name.upper(), name[:1].upper() + name[1:])[style % 4]


def any_case(choices: list[str]) -> st.SearchStrategy[str]:
    return st.builds(recase, st.sampled_from(choices), st.integers(0, 3))


def sub_value(sub: Any, odd: bool) -> st.SearchStrategy[Any]:
    if sub.kind == "boolean":
        return booleans(odd)
    return WORK_TYPES if sub.name == "type" and not odd else text(odd)


def attr_value(spec: ResourceSpec, name: str, odd: bool) -> st.SearchStrategy[Any]:
    """A value of the attribute's own shape; in the odd family, sometimes any JSON at all."""
    attr = spec.attr(name)
    assert attr is not None
    if attr.kind == "boolean":
        shaped: st.SearchStrategy[Any] = booleans(odd)
    elif attr.kind == "complex" and attr.sub:
        element = st.fixed_dictionaries({}, optional={s.name: sub_value(s, odd) for s in attr.sub.values()})
        shaped = st.lists(element, max_size=3) if attr.multi else element
    else:
        shaped = text(odd)
    return loose(shaped, odd)


@functools.cache
def attribute_dicts(resource: str, odd: bool, max_size: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Some attributes of the resource, names in any case; in the odd family also names nobody defined."""
    spec = SPECS[resource]
    settable = [a for a in spec.attrs.values() if not a.read_only or odd]
    pairs = st.one_of([st.tuples(any_case([a.name]), attr_value(spec, a.name, odd)) for a in settable])
    if odd:
        pairs = st.one_of(pairs, st.tuples(st.one_of(names, odd_texts), json_values))
    return st.lists(pairs, max_size=max_size).map(dict)


@functools.cache
def extensions(odd: bool) -> st.SearchStrategy[dict[str, Any]]:
    """The enterprise extension and the tenant's custom attributes (R-DIR-11), whole or as URN keys."""
    manager = st.one_of(text(odd), st.fixed_dictionaries({"value": text(odd)}, optional={"$ref": text(odd)}))
    custom_names = st.sampled_from(["custAttr1", "CUSTATTR1", "custattr1", "custAttr2"] +
                                   (["x" * 70, "1bad", ""] if odd else []))
    enterprise = st.fixed_dictionaries({}, optional={
        "department": text(odd), "manager": manager, "employeeNumber": text(odd), "costCenter": text(odd)})
    return st.fixed_dictionaries({}, optional={
        ENTERPRISE: loose(enterprise, odd),
        CUSTOM: loose(st.dictionaries(custom_names, loose(text(odd), odd), max_size=3), odd),
        f"{ENTERPRISE}:department": text(odd),
        f"{CUSTOM}:custAttr1": loose(text(odd), odd),
    })


def user_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """A user Entra could send, with some attributes and extensions replaced: clean or odd."""
    base = st.builds(lambda n: seed_user(f"fz-{n}-{next(SERIAL)}@contoso.com"), st.integers(0, 3))
    return st.one_of(*(st.builds(lambda b, a, e: {**b, **a, **e}, base, attribute_dicts("User", odd),
                                 extensions(odd)) for odd in (CLEAN, ODD)))


def group_bodies(member_ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    def family(odd: bool) -> st.SearchStrategy[dict[str, Any]]:
        member = st.fixed_dictionaries({"value": member_ids}, optional={"$ref": loose(st.none(), odd),
                                                                        "type": text(odd)})
        name = st.integers(0, 3).map(lambda n: f"fz group {n}-{next(SERIAL)}")
        name = loose(st.one_of(name, text(odd)), odd) if odd else name
        base = st.fixed_dictionaries({"schemas": st.just([GROUP_URN]), "displayName": name},
                                     optional={"members": st.lists(loose(member, odd), max_size=4)})
        return st.builds(lambda b, a: {**b, **a}, base, attribute_dicts("Group", odd, 2))

    return st.one_of(family(CLEAN), family(ODD))


def value_filters(resource: str, odd: bool) -> st.SearchStrategy[str]:
    """The filter inside a PATCH path's brackets: Entra's `type eq "work"`, or in the odd family any filter."""
    simple = st.builds(lambda a, v: f'{a} eq "{v}"', st.sampled_from(["type", "value", "Type"]), WORK_TYPES)
    return st.one_of(simple, filters(resource)) if odd else simple


@functools.cache
def patch_targets(resource: str, odd: bool) -> st.SearchStrategy[tuple[Any, Any]]:
    """(path, value) pairs of the resource's own shape: attributes, sub-attributes, filtered paths, URN paths."""
    spec = SPECS[resource]
    attrs = [a for a in spec.attrs.values() if odd or not a.read_only]
    whole = [st.tuples(any_case([a.name]), attr_value(spec, a.name, odd)) for a in attrs]
    subs = [st.tuples(st.just(f"{a.name}.{s.name}"), sub_value(s, odd)) for a in attrs for s in a.sub.values()]
    suffixes = st.sampled_from(["", ".value", ".type", ".primary"] + ([".bogus"] if odd else []))
    filtered = [st.tuples(st.builds(lambda f, sub, a=a: f"{a.name}[{f}]{sub}", value_filters(resource, odd),
                                    suffixes), loose(text(odd), odd)) for a in attrs if a.multi]
    if spec is GROUP:
        return st.one_of(*whole, *filtered)
    urns = st.tuples(st.sampled_from([f"{ENTERPRISE}:department", f"{CUSTOM}:custAttr1", f"{CUSTOM}:custAttr9",
                                      f"{USER_URN}:displayName", f"{ENTERPRISE}:manager.value"]), text(odd))
    manager = st.tuples(st.just(f"{ENTERPRISE}:manager"), st.one_of(text(odd), st.fixed_dictionaries(
        {"value": text(odd)})))
    typed = st.one_of(*whole, *subs, *filtered, urns, manager)
    return st.one_of(typed, st.tuples(st.one_of(names, odd_texts, json_values), json_values)) if odd else typed


def patch_op(name: Any, target: tuple[Any, Any], shape: int, pathless: dict[str, Any]) -> dict[str, Any]:
    """One operation: with path and value, path-less with an attribute object, or a remove without value."""
    path, value = target
    if shape == 0:
        return {"op": name, "value": pathless}
    if shape == 1:
        return {"op": name, "path": path}
    return {"op": name, "path": path, "value": value}


def patch_bodies(resource: str, targets: Callable[[bool], st.SearchStrategy[tuple[Any, Any]]]
                 ) -> st.SearchStrategy[Any]:
    """PatchOp bodies in both Entra dialects: op in any case, string booleans, path-less values with dotted
    and URN keys; in the odd family also unknown ops, paths and values, and bodies that are no PatchOp."""
    def family(odd: bool) -> st.SearchStrategy[Any]:
        op_names = st.sampled_from(["add", "Add", "REPLACE", "Replace", "remove", "Remove", " add "])
        if odd:
            op_names = st.one_of(op_names, st.sampled_from(["delete", "", "copy"]), json_values)
        pathless = st.builds(lambda a, e: {**a, **e}, attribute_dicts(resource, odd, 2),
                             extensions(odd) if resource == "User" else st.just({}))
        op = loose(st.builds(patch_op, op_names, targets(odd), st.integers(0, 5), pathless), odd)
        body = st.fixed_dictionaries({"Operations": st.lists(op, min_size=1, max_size=3)},
                                     optional={"schemas": loose(st.just([PATCH_OP]), odd)})
        cased = st.builds(lambda b, style: {recase(k, style): v for k, v in b.items()}, body, st.integers(0, 3))
        return loose(cased, odd)

    return st.one_of(family(CLEAN), family(ODD))


def filter_attributes(spec: ResourceSpec, odd: bool = CLEAN) -> st.SearchStrategy[str]:
    core = [a.name for a in spec.attrs.values()] + [f"{a.name}.{s.name}" for a in spec.attrs.values()
                                                    for s in a.sub.values()]
    extra = [f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager", f"{CUSTOM}:custAttr1", "meta.lastModified",
             f"{USER_URN}:userName", "members.value", "groups.value"]
    return st.one_of(any_case(core + extra), names) if odd else any_case(core + extra)


def comp_values(odd: bool) -> st.SearchStrategy[str]:
    usual = st.one_of(text(odd).map(json.dumps), st.sampled_from(["true", "false", "null", '"2026-11-23T08:00:00Z"']))
    if not odd:
        return usual
    return st.one_of(usual, st.integers().map(str), st.floats(allow_nan=False).map(repr),
                     st.sampled_from(['"', "'x'", '"\\u0000"', '"\\"', "1e999", "-0"]))


@functools.cache
def filters(resource: str) -> st.SearchStrategy[str]:
    """Filters of RFC 7644 §3.4.2.2's grammar: every operator, and/or/not, grouping, value paths; then the odd
    family: unknown operators and names, odd values, a valid filter with something cut or inserted, any text."""
    spec = SPECS[resource]

    def grammar(odd: bool) -> st.SearchStrategy[str]:
        ops = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co"])
        ops = st.one_of(ops, st.sampled_from(["xx", "", "=="])) if odd else ops
        comparison = st.builds(lambda a, o, v: f"{a} {o} {v}", filter_attributes(spec, odd), ops, comp_values(odd))
        present = filter_attributes(spec, odd).map(lambda a: f"{a} pr")

        def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
            return st.one_of(
                st.builds(lambda a, j, b: f"{a} {j} {b}", inner, st.sampled_from(["and", "or", "AND", "Or"]), inner),
                inner.map(lambda f: f"not ({f})"), inner.map(lambda f: f"({f})"),
                st.builds(lambda a, f: f"{a}[{f}]", filter_attributes(spec, odd), inner))

        return st.recursive(st.one_of(comparison, present), extend, max_leaves=4)

    clean = grammar(CLEAN)
    odd = st.one_of(grammar(ODD), st.builds(mangle, clean, st.integers(0, 200), odd_texts), odd_texts, plain)
    return st.one_of(clean, odd)


def mangle(valid: str, at: int, insert: str) -> str:
    """A valid filter with something cut or inserted at one place: unbalanced quotes, brackets, stray words."""
    at = at % (len(valid) + 1)
    return valid[:at] + insert + valid[at + len(insert) % 3:]


@functools.cache
def list_params(resource: str) -> st.SearchStrategy[dict[str, Any]]:
    """RFC 7644 §3.4.2 parameters, as Entra and hostile clients send them."""
    spec = SPECS[resource]

    def family(odd: bool) -> st.SearchStrategy[dict[str, Any]]:
        # A small page mostly: 200 rendered users per query would spend the run's time on JSON, not on parsing.
        counts = st.one_of(st.integers(0, 3), st.integers(-(2**40), 2**40), odd_texts) if odd else st.integers(0, 3)
        starts = st.one_of(st.integers(-5, 50), st.integers(-(2**40), 2**40), odd_texts) if odd else \
            st.integers(1, 50)
        attribute_lists = loose(st.lists(filter_attributes(spec, odd), max_size=4).map(",".join), odd)
        orders = st.sampled_from(["ascending", "descending", "DESC"] + (["x", ""] if odd else []))
        return st.fixed_dictionaries({"count": counts}, optional={
            "filter": filters(resource), "startIndex": starts, "sortBy": filter_attributes(spec, odd),
            "sortOrder": orders, "attributes": attribute_lists, "excludedAttributes": attribute_lists})

    return st.one_of(family(CLEAN), family(ODD))


def query_string(params: dict[str, Any], flag: bool) -> str:
    pairs = [(k if i % 2 else k.lower(), str(v)) for i, (k, v) in enumerate(params.items())]
    query = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
    return f"{DIALECT_FLAG}&{query}" if flag else query


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def hostile_ids(real: list[str]) -> st.SearchStrategy[str]:
    """Ids a client should never be able to reach anything with, and real ones with something added."""
    weird = st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(
        ["..", "%2e%2e", "../Users", "x/../../y", "%00", "a%00b", "%ff", "%2F", "%", "%%", " ", "*", "'", "\\"]))
    grown = st.builds(lambda i, s: i + s, one_of_ids(real), st.sampled_from(["x", " ", "%00", "/", "'", "%20"]))
    return st.one_of(weird.map(lambda s: quote(s, safe="%/" if "%" in s else "", errors="surrogatepass")),
                     grown, one_of_ids(real).map(str.upper))


Headers = tuple[tuple[str, str], ...]
# RFC 7644 §3.14 preconditions, well-formed or not.
ETAGS = st.lists(st.tuples(st.sampled_from(["If-Match", "If-None-Match"]), st.one_of(
    st.sampled_from(['W/"1"', '"1"', "*", 'W/"999999999999999999999"', 'W/"-1"', "W/", '""']),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30))),
    max_size=2, unique_by=lambda h: h[0]).map(tuple)


# --- the fuzz tests ---------------------------------------------------------------------------------


def sends_at_least(request: pytest.FixtureRequest, fuzz: Fuzzer, share: str, run: Callable[[], None]) -> None:
    """Run one hypothesis test and check that it sent its share; the count goes on the test's report item."""
    before = fuzz.sent
    run()
    request.node.user_properties.append((TALLY, fuzz.sent - before))
    assert fuzz.sent - before >= SHARES[share], (share, fuzz.sent - before, fuzz.statuses)


def one_of_ids(ids: list[str]) -> st.SearchStrategy[str]:
    """An index into the list, not sampled_from(ids): the list grows as creates succeed, and hypothesis wants
    the same draws for the same choices."""
    return INDEX.map(lambda i: ids[i % len(ids)])


# Targets are drawn as indices with the rest of an example, not through st.data(): a draw from st.data()
# describes its strategy for the report, and describing a lambda parses its source, every time.
INDEX = st.integers(0, 2**16)
INDICES = st.tuples(INDEX, INDEX)


def examples(share: str, per_example: int) -> int:
    return -(-SHARES[share] // per_example)


def test_user_creates_and_replaces(target: Target, request: pytest.FixtureRequest) -> None:
    """Each body twice, as Entra's POST and as a PUT onto a seeded user (RFC 7644 §3.3, §3.5.1)."""
    @settings(FUZZ, max_examples=examples("users", 2))
    @given(body=user_bodies(), flag=st.booleans(), index=INDEX, etags=ETAGS)
    def run(body: dict[str, Any], flag: bool, index: int, etags: Headers) -> None:
        query = DIALECT_FLAG if flag else ""
        answer = target.fuzz(Request("POST", "/Users", query, encode(body)))
        if answer.status == 201:
            target.users.append(answer.json()["id"])
        user = target.users[index % len(target.users)]
        renamed = {**body, "userName": f"put-{body['userName']}"} if isinstance(body.get("userName"), str) else body
        target.fuzz(Request("PUT", f"/Users/{user}", query, encode(renamed), etags))

    sends_at_least(request, target.fuzz, "users", run)


def test_user_patches_in_both_dialects(target: Target, request: pytest.FixtureRequest) -> None:
    """Each PatchOp body onto two users, with the Tenant URL flag of the compliant dialect and without."""
    @settings(FUZZ, max_examples=examples("user_patches", 2))
    @given(body=patch_bodies("User", lambda odd: patch_targets("User", odd)), indices=INDICES, etags=ETAGS)
    def run(body: Any, indices: tuple[int, int], etags: Headers) -> None:
        for query, index in zip(("", DIALECT_FLAG), indices, strict=True):
            user = target.users[index % len(target.users)]
            target.fuzz(Request("PATCH", f"/Users/{user}", query, encode(body), etags))

    sends_at_least(request, target.fuzz, "user_patches", run)


def test_group_writes_and_patches(target: Target, request: pytest.FixtureRequest) -> None:
    """A group body as POST and PUT, and a PatchOp of members and displayName, per example."""
    member_ids = st.one_of(one_of_ids(target.users), one_of_ids(target.groups), one_of_ids(target.foreign_users),
                           text(ODD))

    def targets(odd: bool) -> st.SearchStrategy[tuple[Any, Any]]:
        """Entra's member add and remove in both forms (docs/entra-behaviour.md, Groups), then any group attribute."""
        members = loose(st.lists(st.fixed_dictionaries({"value": member_ids}), max_size=3), odd)
        by_id = member_ids.map(lambda i: f'members[value eq "{i}"]')
        return st.one_of(st.tuples(any_case(["members"]), members), st.tuples(by_id, st.none()),
                         patch_targets("Group", odd))

    @settings(FUZZ, max_examples=examples("groups", 3))
    @given(body=group_bodies(member_ids), patch=patch_bodies("Group", targets), flag=st.booleans(), indices=INDICES,
           etags=ETAGS)
    def run(body: dict[str, Any], patch: Any, flag: bool, indices: tuple[int, int], etags: Headers) -> None:
        query = DIALECT_FLAG if flag else ""
        answer = target.fuzz(Request("POST", "/Groups", query, encode(body)))
        if answer.status == 201:
            target.groups.append(answer.json()["id"])
        first, second = (target.groups[i % len(target.groups)] for i in indices)
        target.fuzz(Request("PUT", f"/Groups/{first}", query, encode(body), etags))
        target.fuzz(Request("PATCH", f"/Groups/{second}", query, encode(patch), etags))

    sends_at_least(request, target.fuzz, "groups", run)


def test_queries_searches_and_projections(target: Target, request: pytest.FixtureRequest) -> None:
    """The same parameters as a GET query, a POST /.search of the type, and a root /.search (RFC 7644 §3.4)."""
    queries = st.one_of(*(st.tuples(st.just(spec), list_params(spec.name)) for spec in (USER, GROUP)))

    @settings(FUZZ, max_examples=examples("queries", 3))
    @given(query=queries, flag=st.booleans(), as_lists=st.booleans(), junk=st.one_of(st.none(), st.none(),
                                                                                    json_values))
    def run(query: tuple[ResourceSpec, dict[str, Any]], flag: bool, as_lists: bool, junk: Any) -> None:
        spec, params = query
        body = encode(search_body(params, as_lists) if junk is None else junk)
        for request in (Request("GET", f"/{spec.endpoint}", query_string(params, flag)),
                        Request("POST", f"/{spec.endpoint}/.search", DIALECT_FLAG if flag else "", body),
                        Request("POST", "/.search", "", body)):
            answer = target.fuzz(request)
            if answer.status == 200:
                check_list_response(answer.json())

    sends_at_least(request, target.fuzz, "queries", run)


def search_body(params: dict[str, Any], as_lists: bool) -> dict[str, Any]:
    """A SearchRequest (RFC 7644 §3.4.3): the same parameters in JSON, lists where the RFC has them, or not."""
    body: dict[str, Any] = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **params}
    for key in ("attributes", "excludedAttributes"):
        if as_lists and isinstance(body.get(key), str):
            body[key] = body[key].split(",")
    return body


def check_list_response(doc: dict[str, Any]) -> None:
    """Always a ListResponse whose page fits its totals (RFC 7644 §3.4.2)."""
    assert doc["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], doc
    assert len(doc["Resources"]) <= doc["totalResults"] or doc["Resources"] == [], doc
    assert doc["itemsPerPage"] == len(doc["Resources"]), doc


def resource_paths(target: Target) -> st.SearchStrategy[str]:
    """Real ids, hostile ids, ids of another tenant, unknown schema and resource type ids, paths nobody serves."""
    def under(roots: list[str], ids: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(lambda r, i: f"/{r}/{i}", st.sampled_from(roots), ids)

    discovery_ids = st.one_of(st.sampled_from([USER_URN, GROUP_URN, ENTERPRISE, CUSTOM, "User", "Group"]), text(ODD))
    return st.one_of(
        under(["Users"], one_of_ids(target.users)), under(["Groups"], one_of_ids(target.groups)),
        under(["Users", "Groups"], hostile_ids(target.users)),
        under(["Users", "Groups"], one_of_ids(target.foreign_users + target.foreign_groups)),
        under(["Schemas", "ResourceTypes"], discovery_ids.map(lambda i: quote(i, safe="", errors="surrogatepass"))),
        st.text(string.ascii_letters + "/._-%", max_size=30).map(lambda p: "/" + p))


def test_weird_ids_preconditions_and_unknown_paths(target: Target, request: pytest.FixtureRequest) -> None:
    """Each path read, then written with the drawn method, body and preconditions."""
    foreign = tuple("/" + i for i in target.foreign_users + target.foreign_groups)

    @settings(FUZZ, max_examples=examples("ids", 2))
    @given(path=resource_paths(target), method=st.sampled_from(["PUT", "PATCH", "DELETE", "POST"]),
           headers=ETAGS, body=st.one_of(st.none(), json_values.map(encode), st.binary(max_size=64)))
    def run(path: str, method: str, headers: Headers, body: bytes | None) -> None:
        for request in (Request("GET", path, "", None, headers), Request(method, path, "", body, headers)):
            answer = target.fuzz(request)
            if path.endswith(foreign):  # another tenant's resource is never found, read or written
                assert answer.status in (400, 404, 405, 412), (request, answer.status)
            if answer.status == 204 and request.method == "DELETE" and path.startswith("/Users/"):
                target.restore_user(path.rstrip("/").rsplit("/", 1)[1])  # "/Users/{id}/" routes too

    sends_at_least(request, target.fuzz, "ids", run)


def test_refused_credentials_change_nothing(target: Target, request: pytest.FixtureRequest) -> None:
    """R-SCIM-4: a missing, forged or foreign token is refused before anything is read or written."""
    paths = ["/Users", f"/Users/{target.users[0]}", "/Groups", f"/Groups/{target.groups[0]}", "/Users/.search",
             "/.search", "/Schemas", "/ServiceProviderConfig", "/nowhere"]

    @settings(FUZZ, max_examples=examples("credentials", 2))
    @given(token=bad_tokens(target), method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
           path=st.sampled_from(paths), body=st.one_of(user_bodies().map(encode), json_values.map(encode)),
           client=CLIENTS)
    def run(token: str, method: str, path: str, body: bytes, client: str | None) -> None:
        for request in (Request("GET", path, token=token, client=client),
                        Request(method, path, "", body, token=token, client=client)):
            answer = target.fuzz(request)
            assert answer.status in (401, 429), (token[:80], answer.status, answer.body[:300])

    sends_at_least(request, target.fuzz, "credentials", run)


# Mostly callers of their own (documentation addresses, in-process only), so that most refusals go through the
# whole token check; one caller often enough to be answered 429 once past AUTH_FAILURE_LIMIT.
CLIENTS = st.one_of(st.none(), st.integers(1, 254).map(lambda i: f"198.51.100.{i}"),
                    st.integers(1, 2**16).map(lambda i: f"2001:db8::{i:x}"))


def bad_tokens(target: Target) -> st.SearchStrategy[str]:
    """Missing, malformed, forged and another tenant's tokens: all refused alike (R-SCIM-4)."""
    printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
    header, payload, signature = target.token.split(".")
    forged = st.one_of(
        st.builds(lambda s: f"{header}.{payload}.{s}", printable),
        st.builds(lambda p: f"{header}.{p}.{signature}", printable),
        st.just(f"{header}.{payload}."), st.just(f"eyJhbGciOiJub25lIn0.{payload}."),
        st.builds(lambda i: target.token[:i] + target.token[i + 1:], st.integers(0, len(target.token) - 1)))
    return st.one_of(st.just(""), printable, forged, st.just(target.other_token))


@pytest.mark.parametrize("body", [
    {"excludedAttributes": True}, {"attributes": 3}, {"attributes": {"userName": 1}}, {"excludedAttributes": 1.5},
])
@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
def test_search_requests_whose_attribute_lists_are_no_lists_are_refused(target: Target, path: str,
                                                                       body: dict[str, Any],
                                                                       request: pytest.FixtureRequest) -> None:
    """Found by this fuzzing: `excludedAttributes: true` in a SearchRequest was a TypeError, a 500."""
    request.node.user_properties.append((TALLY, 0))  # a fixed input: it counts for none of the generated ones
    answer = target.fuzz(Request("POST", path, "", encode(body)))
    assert answer.status == 400 and answer.json()["scimType"] == "invalidValue", answer.body


# --- the same over real HTTP, against gunicorn --------------------------------------------------------------


@contextmanager
def database_fingerprint(url: str) -> Iterator[Callable[[], tuple[Any, ...]]]:
    """FINGERPRINT_SQL on the directory's own database, read from outside the service over one connection."""
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    else:
        import psycopg2

        conn = psycopg2.connect(url)
        conn.autocommit = True  # each read sees the latest commits, and holds no snapshot open

    def read() -> tuple[Any, ...]:
        cursor = conn.cursor()
        cursor.execute(FINGERPRINT_SQL)
        return tuple(cursor.fetchone())

    try:
        yield read
    finally:
        conn.close()


def http_send(system: System, base: str, token: str) -> Callable[[Request], Answer]:
    def send(request: Request) -> Answer:
        headers = {"Authorization": f"Bearer {request.token if request.token is not None else token}",
                   "Content-Type": "application/scim+json", **dict(request.headers)}
        url = base + request.path + ("?" + request.query if request.query else "")
        started = time.monotonic()
        resp = system.http.request(request.method, url, body=request.body, headers=headers, timeout=HANG_SECONDS,
                                   retries=False)
        assert time.monotonic() - started < HANG_SECONDS
        return Answer(resp.status, resp.headers.get("Content-Type", ""), resp.data, dict(resp.headers))

    return send


def gunicorn_refusal(base: str) -> Callable[[Request, Answer], bool]:
    """gunicorn reads request lines of at most 4,094 bytes and answers longer ones itself (README: use
    POST …/.search for very long filters)."""
    path = base.split("/", 3)[3]

    def refused(request: Request, answer: Answer) -> bool:
        line = len(request.method) + len(path) + len(request.path) + len(request.query) + 12
        return answer.status in (400, 414) and line > 4_000

    return refused


@pytest.mark.integration
def test_the_same_inputs_over_http_against_gunicorn(system: System, request: pytest.FixtureRequest) -> None:
    """A share of the same generators through gunicorn and real sockets: HTTP parsing, headers, bodies."""
    tenant = "fuzz-http"
    assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
    base = issued["scim_url"]
    with database_fingerprint(system.processes["directory"].env["DATABASE_URL"]) as fingerprint:
        fuzz_over_http(request, Fuzzer(http_send(system, base, issued["token"]), fingerprint,
                                       gunicorn_refusal(base)))


def fuzz_over_http(request: pytest.FixtureRequest, fuzz: Fuzzer) -> None:
    users = [fuzz(Request("POST", "/Users", "", encode(seed_user(f"h{i}@contoso.com")))).json()["id"]
             for i in range(3)]
    patches = patch_bodies("User", lambda odd: patch_targets("User", odd))
    requests = st.one_of(
        user_bodies().map(lambda b: Request("POST", "/Users", "", encode(b))),
        st.tuples(st.sampled_from(users), patches, st.booleans()).map(
            lambda t: Request("PATCH", f"/Users/{t[0]}", DIALECT_FLAG if t[2] else "", encode(t[1]))),
        list_params("User").map(lambda p: Request("GET", "/Users", query_string(p, False))),
        filters("Group").map(lambda f: Request("POST", "/Groups/.search", "", encode({"filter": f}))),
        st.binary(max_size=200).map(lambda b: Request("POST", "/Users", "", b)),
        hostile_ids(users).map(lambda i: Request("GET", f"/Users/{i}")))

    @settings(FUZZ, max_examples=SHARES["http"])
    @given(generated=requests)
    def run(generated: Request) -> None:
        fuzz(generated)

    sends_at_least(request, fuzz, "http", run)


# --- the run's total --------------------------------------------------------------------------------------

def test_the_run_sends_at_least_ten_thousand_requests(request: pytest.FixtureRequest) -> None:
    """10,000 generated requests or more per run, counted as sent. Both fuzz files end with this test,
    so the one that runs last sees the count every fuzz test of the session left on its report item."""
    assert_total(request, MIN_REQUESTS)
