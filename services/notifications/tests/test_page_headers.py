"""Security headers on every response of the Notifications page: a Content-Security-Policy with
no inline script or style, no framing, no sniffing, no referrer, no caching; the stylesheet is a file."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from .conftest import Outcomes, refused_email
from .test_pages import PAGE, csrf_of, sign_in

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def policy(resp: object) -> dict[str, list[str]]:
    header = resp.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_secured(resp: object) -> None:
    for name, value in EXPECTED.items():
        assert resp.headers.get(name) == value, (name, resp.headers.get(name))  # type: ignore[attr-defined]
    csp = policy(resp)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'none'"]
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in csp.get(directive, []) and "'unsafe-eval'" not in csp.get(directive, [])
    assert "*" not in " ".join(v for values in csp.values() for v in values)


def test_every_page_response_carries_the_security_headers(client: FlaskClient, env: dict[str, str],
                                                         outcomes: Outcomes,
                                                         tenant_key: Callable[[str], dict[str, str]]) -> None:
    outcomes.send(outcomes.make(**_refusal()))
    responses = [client.get("/"), client.get(PAGE), client.get("/sign-in"),
                 client.post("/sign-in", data={"key": "sta_wrong"}),  # 400: no form token
                 sign_in(client, "sta_wrong")]  # 401
    signed_in = sign_in(client, env["ADMIN_API_KEY"])
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    item = re.search(r"/notifications/(\d+)/acknowledge", html)
    assert item is not None, html
    acknowledged = client.post(f"{PAGE}/{item.group(1)}/acknowledge", data={"csrf_token": csrf_of(html)})
    responses += [signed_in, page, acknowledged, client.get("/"), client.get(PAGE + "?state=bogus"),
                  client.get("/tenants/nope/notifications"),
                  client.get(PAGE, headers=tenant_key("other")),  # another tenant's key: 404
                  client.get(PAGE, headers={"Authorization": "Bearer sta_wrong"})]  # 401
    statuses = {r.status_code for r in responses}
    assert {200, 302, 400, 401, 404} <= statuses, statuses
    for resp in responses:
        assert_secured(resp)


def test_the_page_has_no_inline_style_or_script_and_its_stylesheet_is_served(client: FlaskClient,
                                                                            env: dict[str, str]) -> None:
    sign_in(client, env["ADMIN_API_KEY"])
    for path in ("/sign-in", PAGE, "/"):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path
    sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', client.get("/sign-in").get_data(as_text=True))
    assert sheet is not None and sheet.group(1).startswith("/")  # same origin: allowed by style-src 'self'
    css = client.get(sheet.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "--fg" in css.get_data(as_text=True)
    assert css.headers["X-Content-Type-Options"] == "nosniff"


def test_the_admin_api_keeps_its_json_answers(client: FlaskClient, admin: dict[str, str]) -> None:
    resp = client.get("/admin/v1/tenants/acme/notifications", headers=admin)
    assert resp.status_code == 200 and resp.mimetype.startswith("application/")


def _refusal() -> dict:
    refused = refused_email()
    return {"status": "refused", "user": refused["user"], "user_id": refused["user_id"],
            "operation": refused["operation"], "stored": [], "refusal": refused["refusal"]}
