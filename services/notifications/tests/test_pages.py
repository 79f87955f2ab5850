"""The Notifications page (R-NOT-4): sign-in with an admin key into a secure session cookie, bearer access for
scripts, filters, pages, acknowledge with a CSRF token, and no HTML injection from Entra's values."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import Outcomes, custom_drop, only, refused_email

PAGE = "/tenants/acme/notifications"


def sign_in(client: FlaskClient, key: str, next_path: str = PAGE) -> object:
    form = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/sign-in", data={"key": key, "next": next_path, "csrf_token": csrf})


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_an_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    resp = client.get(PAGE + "?state=open")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/sign-in?next=")
    form = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'type="password"' in form and 'name="viewport"' in form


def test_sign_in_sets_an_httponly_samesite_session_cookie(client: FlaskClient, env: dict[str, str]) -> None:
    resp = sign_in(client, env["ADMIN_API_KEY"])
    assert resp.status_code == 302 and resp.headers["Location"] == PAGE
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http locally
    assert env["ADMIN_API_KEY"] not in cookie
    page = client.get(PAGE)
    assert page.status_code == 200 and "Notifications" in page.get_data(as_text=True)


def test_the_cookie_is_secure_behind_https(make_app: Callable[..., Flask], env: dict[str, str]) -> None:
    client = make_app(PUBLIC_BASE_URL="https://mdm.example.com").test_client()
    assert "Secure" in sign_in(client, env["ADMIN_API_KEY"]).headers["Set-Cookie"]


def test_a_wrong_key_does_not_sign_in(client: FlaskClient) -> None:
    resp = sign_in(client, "sta_wrong")
    assert resp.status_code == 401 and "not valid" in resp.get_data(as_text=True)
    assert client.get(PAGE).status_code == 302


def test_sign_in_needs_the_form_token_and_never_redirects_off_site(client: FlaskClient, env: dict[str, str]) -> None:
    assert client.post("/sign-in", data={"key": env["ADMIN_API_KEY"]}).status_code == 400
    resp = sign_in(client, env["ADMIN_API_KEY"], next_path="//evil.example.com/")
    assert resp.headers["Location"] == "/"


def test_scripts_use_a_bearer_key(client: FlaskClient, admin: dict[str, str], outcomes: Outcomes) -> None:
    outcomes(**refused_email("bob@example.com"))
    page = client.get(PAGE, headers=admin)
    assert page.status_code == 200 and "bob@example.com" in page.get_data(as_text=True)
    assert client.get(PAGE, headers={"Authorization": "Bearer sta_wrong"}).status_code == 401


def test_a_tenant_key_cannot_open_another_tenants_page(client: FlaskClient, tenant_key: Callable[[str], dict]) -> None:
    key = tenant_key("globex")["Authorization"][7:]
    resp = sign_in(client, key, next_path="")
    assert resp.headers["Location"] == "/tenants/globex/notifications"
    assert client.get(PAGE).status_code == 404


def test_the_page_shows_severity_kind_message_users_counts_and_times(client: FlaskClient, admin: dict[str, str],
                                                                      outcomes: Outcomes) -> None:
    outcomes(**refused_email("bob@example.com"))
    outcomes(**refused_email("bob@example.com"))
    html = client.get(PAGE, headers=admin).get_data(as_text=True)
    for text in ("error", "open", "All user attributes are not synchronized", "email is mandatory", "bob@example.com",
                 "Seen 2 times", "First seen", "Last seen", "2026-11-23 08:02 UTC", "What to do",
                 "(user, not created)"):
        assert text in html, text
    assert "POST" not in html and "/Users" not in html  # what Entra did, in words, not the protocol's verbs


def test_values_from_entra_are_escaped(client: FlaskClient, admin: dict[str, str], outcomes: Outcomes) -> None:
    evil = "<script>alert(1)</script>"
    outcomes("partial", user=evil, dropped=[{"attribute": f"custom.{evil}", "reason": "unknown_attribute",
                                             "detail": evil}])
    html = client.get(PAGE, headers=admin).get_data(as_text=True)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_filters_and_pages(client: FlaskClient, admin: dict[str, str], outcomes: Outcomes) -> None:
    outcomes.send(*[outcomes.make("partial", dropped=[custom_drop(f"custAttr{i:02}")]) for i in range(25)])
    outcomes(**refused_email())
    html = client.get(PAGE + "?kind=all_not_synchronized", headers=admin).get_data(as_text=True)
    assert "email is mandatory" in html and "custAttr" not in html
    first = client.get(PAGE + "?kind=some_not_synchronized", headers=admin).get_data(as_text=True)
    assert first.count("<article") == 20 and 'rel="next"' in first
    second = client.get(PAGE + "?kind=some_not_synchronized&page=2", headers=admin).get_data(as_text=True)
    assert second.count("<article") == 5 and 'rel="prev"' in second and 'rel="next"' not in second
    assert client.get(PAGE + "?state=bogus", headers=admin).status_code == 302  # back to the unfiltered list


def test_acknowledge_from_the_page_needs_the_csrf_token(client: FlaskClient, env: dict[str, str],
                                                        admin: dict[str, str], outcomes: Outcomes) -> None:
    outcomes(**refused_email())
    n = only(client, admin)
    sign_in(client, env["ADMIN_API_KEY"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Acknowledge" in page
    action = f"{PAGE}/{n['id']}/acknowledge"
    assert client.post(action, data={"csrf_token": "forged"}).status_code == 400
    assert only(client, admin)["state"] == "open"
    resp = client.post(action, data={"csrf_token": csrf_of(page), "back": PAGE + "?state=open"})
    assert resp.status_code == 302 and resp.headers["Location"] == PAGE + "?state=open"
    assert only(client, admin)["state"] == "acknowledged"


def test_an_id_past_the_tables_range_is_a_404_not_a_500(client: FlaskClient, admin: dict[str, str]) -> None:
    assert client.post(f"{PAGE}/{10**20}/acknowledge", headers=admin).status_code == 404


def test_scripts_acknowledge_with_a_bearer_key(client: FlaskClient, admin: dict[str, str],
                                               outcomes: Outcomes) -> None:
    outcomes(**refused_email())
    n = only(client, admin)
    assert client.post(f"{PAGE}/{n['id']}/acknowledge", headers=admin).status_code == 302
    assert only(client, admin)["state"] == "acknowledged"


def test_sign_out(client: FlaskClient, env: dict[str, str]) -> None:
    sign_in(client, env["ADMIN_API_KEY"])
    page = client.get(PAGE).get_data(as_text=True)
    assert client.post("/sign-out", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert client.get(PAGE).status_code == 302


@pytest.mark.parametrize("path", ["/", PAGE])
def test_pages_are_html(client: FlaskClient, admin: dict[str, str], path: str) -> None:
    resp = client.get(path, headers=admin)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
