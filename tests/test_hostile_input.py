"""Hostile input against the SCIM API through real processes: oversized, malformed, deeply
nested and injection-shaped requests get a SCIM error (4xx) quickly and change nothing; never a 5xx."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import urllib3

from shared.testing import System

pytestmark = pytest.mark.integration
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM = "application/scim+json"
ANSWER_WITHIN_S = 5.0  # every hostile request is answered, not left hanging


class Client:
    """One tenant's Target SCIM URL and token; every answer is checked for a 5xx and for time."""

    def __init__(self, system: System) -> None:
        tenant = f"hostile-{uuid.uuid4().hex[:10]}"
        assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
        issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
        self.system, self.token, self.base = system, issued["token"], issued["scim_url"]

    def raw(self, method: str, path: str, body: bytes | None = None, *, fields: dict[str, str] | None = None,
            content_type: str = "application/scim+json", extra_headers: dict[str, str] | None = None
            ) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": f"Bearer {self.token}", **(extra_headers or {})}
        if body is not None:
            headers["Content-Type"] = content_type
        started = time.monotonic()
        if fields is not None:
            resp = self.system.http.request(method, self.base + path, fields=fields, headers=headers,
                                            timeout=10.0, retries=False)
        else:
            resp = self.system.http.request(method, self.base + path, body=body, headers=headers,
                                            timeout=10.0, retries=False)
        elapsed = time.monotonic() - started
        assert resp.status < 500, (method, path, resp.status, resp.data[:500])
        assert elapsed < ANSWER_WITHIN_S, (method, path, elapsed)
        return resp

    def json(self, method: str, path: str, doc: Any = None, **fields: str) -> urllib3.BaseHTTPResponse:
        body = json.dumps(doc).encode() if doc is not None else None
        return self.raw(method, path, body, fields=fields or None)

    def total(self, path: str = "/Users") -> int:
        resp = self.json("GET", path)
        assert resp.status == 200
        return resp.json()["totalResults"]


def scim_error(resp: urllib3.BaseHTTPResponse, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert resp.status == status, resp.data[:500]
    assert resp.headers["Content-Type"].startswith(SCIM), resp.headers["Content-Type"]
    doc = resp.json()
    assert doc["schemas"] == [ERROR] and doc["status"] == str(status) and doc["detail"], doc
    if scim_type is not None:
        assert doc.get("scimType") == scim_type, doc
    return doc


def new_user(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "active": True,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": user_name, "type": "work", "primary": True}], **extra}


@pytest.fixture(scope="module")
def scim(system: System) -> Client:
    return Client(system)


def test_a_body_over_the_limit_is_a_413_scim_error(scim: Client, system: System) -> None:
    limit = int(system.env.get("MAX_CONTENT_LENGTH", 1_048_576))
    doc = new_user("big@contoso.com", displayName="x" * (limit + 10))
    before = scim.total()
    # gunicorn answers 413 with "Connection: keep-alive", then closes the connection when the unread
    # body is over its 64 KiB drain cap: this request asks for a connection of its own.
    body = json.dumps(doc).encode()
    scim_error(scim.raw("POST", "/Users", body, extra_headers={"Connection": "close"}), 413)
    scim_error(scim.raw("POST", "/Users/.search", body, extra_headers={"Connection": "close"}), 413)
    assert scim.total() == before


@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_json_nested_ten_thousand_levels_deep_is_a_400(scim: Client, shape: str) -> None:
    depth = 10_000
    body = "[" * depth + "]" * depth if shape == "arrays" else '{"a":' * depth + "1" + "}" * depth
    for method, path in (("POST", "/Users"), ("POST", "/Users/.search"), ("POST", "/.search"),
                         ("POST", "/Groups")):
        scim_error(scim.raw(method, path, body.encode()), 400, "invalidSyntax")
    nested_value = '{"userName": "deep@contoso.com", "displayName": ' + body + "}"
    scim_error(scim.raw("POST", "/Users", nested_value.encode()), 400, "invalidSyntax")
    # Deep, but shallow enough to parse: refused as a value, not stored.
    user = new_user("deep@contoso.com")
    shallow = "[" * 500 + "]" * 500 if shape == "arrays" else '{"a":' * 500 + "1" + "}" * 500
    text = json.dumps(user)[:-1] + ', "displayName": ' + shallow + "}"
    doc = scim_error(scim.raw("POST", "/Users", text.encode()), 400, "invalidValue")
    assert "displayName" in doc["detail"]


def test_invalid_utf8_is_a_400_invalid_syntax(scim: Client) -> None:
    before = scim.total()
    for body in (b'{"userName": "\xff\xfe@contoso.com"}', b"\xc3\x28", b'{"userName": "\xed\xa0\x80"}',
                 b'{"userName": "\\ud800@contoso.com"}'):
        scim_error(scim.raw("POST", "/Users", body), 400, "invalidSyntax")
        scim_error(scim.raw("POST", "/Users/.search", body), 400, "invalidSyntax")
    assert scim.total() == before


def test_a_filter_of_ten_thousand_characters_is_refused(scim: Client) -> None:
    text = 'userName eq "' + "a" * 10_000 + '"'
    for path in ("/Users/.search", "/Groups/.search", "/.search"):
        doc = scim_error(scim.json("POST", path, {"filter": text}), 400, "invalidFilter")
        assert len(json.dumps(doc)) < 2_000  # the answer does not echo the whole filter back
    # In a query string it is longer than any request line gunicorn reads (4,094 bytes): its 414.
    assert scim.json("GET", "/Users", filter=text).status == 414
    shorter = 'userName eq "' + "a" * 4_000 + '"'  # fits a request line once encoded, over 4,096 characters
    doc = scim_error(scim.json("POST", "/Users/.search", {"filter": shorter + " or " + shorter}), 400)
    assert doc.get("scimType") == "invalidFilter" and len(doc["detail"]) < 500


def test_a_filter_nested_a_thousand_parentheses_deep_is_refused(scim: Client) -> None:
    deep = "(" * 1_000 + 'userName eq "x"' + ")" * 1_000
    for path in ("/Users/.search", "/Groups/.search", "/.search"):
        scim_error(scim.json("POST", path, {"filter": deep}), 400, "invalidFilter")
    nots = "not (" * 300 + 'userName eq "x"' + ")" * 300
    scim_error(scim.json("POST", "/Users/.search", {"filter": nots}), 400, "invalidFilter")
    # Short enough for a query string, still too deep.
    scim_error(scim.json("GET", "/Users", filter="(" * 100 + 'userName eq "x"' + ")" * 100), 400, "invalidFilter")
    wide = " or ".join(f'userName eq "u{i}"' for i in range(150))
    scim_error(scim.json("POST", "/Users/.search", {"filter": wide}), 400, "invalidFilter")


@pytest.mark.parametrize("value", [
    "x' OR 1=1 --", "x' OR '1'='1", '\\" OR 1=1 --', "'; DROP TABLE users; --", "%", "_", "\\",
    "x'); DELETE FROM users; --",
])
def test_sql_looking_filter_values_match_nothing_and_change_nothing(scim: Client, value: str) -> None:
    created = scim.json("POST", "/Users", new_user(f"sql-{uuid.uuid4().hex[:8]}@contoso.com"))
    assert created.status == 201, created.data
    before = scim.json("GET", "/Users").json()
    literal = json.dumps(value)  # a JSON string, as compValue is
    for op in ("eq", "co", "sw", "ew"):
        resp = scim.json("GET", "/Users", filter=f"userName {op} {literal}")
        assert resp.status == 200 and resp.json()["totalResults"] == 0, (op, resp.data[:300])
        resp = scim.json("GET", "/Groups", filter=f"displayName {op} {literal}")
        assert resp.status == 200 and resp.json()["totalResults"] == 0
    # LIKE wildcards are literal characters: nobody's userName contains '%' or '_'.
    for wildcard in ("%", "_"):
        resp = scim.json("GET", "/Users", filter=f'userName co "{wildcard}"')
        assert resp.status == 200 and resp.json()["totalResults"] == 0
    after = scim.json("GET", "/Users").json()
    assert after["totalResults"] == before["totalResults"]
    assert [u["id"] for u in after["Resources"]] == [u["id"] for u in before["Resources"]]
    assert scim.json("GET", f"/Users/{created.json()['id']}").status == 200


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("hostile_id", [
    "..%2F..%2Fetc", "..%2F..%2F..%2Fetc%2Fpasswd", "%00", "abc%00def", "%2e%2e", "..%5C..%5Cwindows",
    "%252e%252e%252f", "%0d%0aX-Injected:%201", "%ff%fe",
])
def test_hostile_ids_are_a_404_scim_error(scim: Client, resource: str, hostile_id: str) -> None:
    for method in ("GET", "DELETE"):
        resp = scim.raw(method, f"/{resource}/{hostile_id}")
        scim_error(resp, 404)
        assert "X-Injected" not in resp.headers
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}
    scim_error(scim.json("PATCH", f"/{resource}/{hostile_id}", patch), 404)


def test_markup_in_attribute_values_is_stored_and_returned_as_text(scim: Client) -> None:
    script = "<script>alert('x')</script>"
    image = '"><img src=x onerror=alert(1)>'
    user = new_user(f"markup-{uuid.uuid4().hex[:8]}@contoso.com", displayName=script, title=image,
                    nickName="{{7*7}} ${7*7} <!--")
    user["name"]["familyName"] = "</script><svg onload=alert(1)>"
    created = scim.json("POST", "/Users", user)
    assert created.status == 201, created.data
    assert created.headers["Content-Type"].startswith(SCIM)
    read = scim.json("GET", f"/Users/{created.json()['id']}").json()
    assert read["displayName"] == script and read["title"] == image
    assert read["nickName"] == "{{7*7}} ${7*7} <!--"
    assert read["name"]["familyName"] == "</script><svg onload=alert(1)>"
    group = scim.json("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                          "displayName": f"{script}-{uuid.uuid4().hex[:6]}"})
    assert group.status == 201, group.data
    assert scim.json("GET", f"/Groups/{group.json()['id']}").json()["displayName"].startswith(script)


def list_response(resp: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    assert resp.status == 200, resp.data[:300]
    assert resp.headers["Content-Type"].startswith(SCIM)
    doc = resp.json()
    assert doc["schemas"] == [LIST], doc
    return doc


def test_five_thousand_unknown_attribute_names_are_ignored(scim: Client) -> None:
    """RFC 7644 §3.4.2.5: attributes and excludedAttributes name what to return; names no resource has select
    nothing and are no error, however many there are or however deep a dotted path goes."""
    names = [f"attr{i}" for i in range(5_000)]
    for key in ("attributes", "excludedAttributes"):
        for path in ("/Users/.search", "/Groups/.search", "/.search"):
            list_response(scim.json("POST", path, {key: names, "count": 5}))
        deep = [".".join(["a"] * 2_000)]  # one dotted path 2,000 steps long
        list_response(scim.json("POST", "/Users/.search", {key: deep}))
    # As many as a query string holds; beyond that gunicorn answers 414 before the app sees it.
    many = ",".join(f"a{i}" for i in range(300))
    list_response(scim.json("GET", "/Users", attributes=many))
    assert scim.json("GET", "/Users", attributes=",".join(names)).status == 414


def test_nul_characters_are_refused_never_a_5xx(scim: Client) -> None:
    """PostgreSQL stores no U+0000 in text: a NUL anywhere is the client's error, on every engine."""
    before = scim.total()
    created = scim.json("POST", "/Users", new_user(f"nul-{uuid.uuid4().hex[:8]}@contoso.com"))
    assert created.status == 201
    user_id = created.json()["id"]
    for doc in (new_user("a\u0000b@contoso.com"), new_user("nul2@contoso.com", displayName="x\u0000y"),
                new_user("nul3@contoso.com", externalId="\u0000"),
                new_user("nul4@contoso.com", **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                                                {"department": "a\u0000"}})):
        scim_error(scim.json("POST", "/Users", doc), 400)
    scim_error(scim.json("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                             "displayName": "g\u0000"}), 400)
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "displayName", "value": "\u0000"}]}
    scim_error(scim.json("PATCH", f"/Users/{user_id}", patch), 400)
    replace = new_user(created.json()["userName"], title="t\u0000")
    scim_error(scim.json("PUT", f"/Users/{user_id}", replace), 400)
    for text in ('userName eq "a\\u0000b"', 'userName eq "a\u0000b"', 'displayName co "\\u0000"'):
        scim_error(scim.json("GET", "/Users", filter=text), 400, "invalidFilter")
        # A NUL in the body itself (not the escape \u0000 in the filter's text) is refused with the body.
        in_body = "\u0000" in text
        scim_error(scim.json("POST", "/Groups/.search", {"filter": text}), 400,
                   "invalidValue" if in_body else "invalidFilter")
    assert scim.total() == before + 1


def test_very_long_values_are_stored_where_no_limit_applies_and_refused_past_one(scim: Client) -> None:
    long = "x" * 10_000
    for extra in ({"externalId": "e" * 512}, {"displayName": "d" * 100_000}, {"title": long}, {"nickName": long},
                  {"emails": [{"value": long + "@contoso.com", "type": "work"}]},
                  {"phoneNumbers": [{"value": long, "type": "work"}]}):
        doc = new_user(f"long-{uuid.uuid4().hex[:8]}@contoso.com", **extra)
        created = scim.json("POST", "/Users", doc)
        assert created.status == 201, (extra.keys(), created.data[:300])
        read = scim.json("GET", f"/Users/{created.json()['id']}").json()
        assert {name: read[name] for name in extra} == extra
    # externalId is at most 512 characters (rules.MAX_EXTERNAL_ID: the index's limit on PostgreSQL).
    doc = new_user(f"long-{uuid.uuid4().hex[:8]}@contoso.com", externalId="e" * 513)
    assert "externalId" in scim_error(scim.json("POST", "/Users", doc), 400, "invalidValue")["detail"]
    scim_error(scim.json("POST", "/Users", new_user(long + "@contoso.com")), 400)
    scim_error(scim.json("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                             "displayName": long}), 400)
    for attribute in ("userName", "externalId", "emails.value", "displayName"):
        resp = scim.json("POST", "/Users/.search", {"filter": f'{attribute} eq "{"y" * 4_000}"'})
        assert list_response(resp)["totalResults"] == 0, attribute
