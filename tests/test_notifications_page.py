"""The Notifications page in a real browser (headless Debian chromium): an admin signs in, sees
the notifications Entra-shaped SCIM requests raised, filters them, acknowledges one, and the page is
saved as a screenshot at test-artifacts/notifications-page.png (a CI artifact)."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from shared.testing import System

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
DATA = ROOT / "services" / "scim-api" / "tests" / "data"
CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
# Without the networking flags chromium tries to reach outside hosts and fails.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def provision_with_problems(system: System, tenant: str) -> None:
    """Entra creates one user without an email (refused) and one with an undefined custom attribute."""
    assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
    user = copy.deepcopy(json.loads((DATA / "tut-create-user.json").read_text()))
    no_mail = {**user, "userName": "<b>nomail</b>@contoso.com"}  # the page must show it as text
    del no_mail["emails"]
    assert system.request("POST", issued["scim_url"] + "/Users", json_body=no_mail, token=issued["token"]
                          ).status == 400
    partial = {**user, "userName": "ann@contoso.com", "schemas": [*user["schemas"], CUSTOM],
               CUSTOM: {"costCode": "42"}}
    partial["emails"] = [{"value": "ann@contoso.com", "type": "work", "primary": True}]
    assert system.request("POST", issued["scim_url"] + "/Users", json_body=partial, token=issued["token"]
                          ).status == 201


def test_an_admin_signs_in_filters_and_acknowledges_on_the_page(system: System,
                                                               browser: webdriver.Chrome) -> None:
    tenant = f"page-{uuid.uuid4().hex[:8]}"
    provision_with_problems(system, tenant)
    page = f"{system.url('notifications')}/tenants/{tenant}/notifications"
    browser.get(page)
    assert "/sign-in" in browser.current_url  # not signed in: the page asks for an admin key
    browser.find_element(By.NAME, "key").send_keys(system.admin_key)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    deadline = time.monotonic() + 20  # the relay brings the outcomes within a second or two
    while len(browser.find_elements(By.CSS_SELECTOR, "article.card")) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        browser.get(page)
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == 2, browser.page_source[:2000]
    text = browser.find_element(By.TAG_NAME, "main").text if browser.find_elements(By.TAG_NAME, "main") \
        else browser.find_element(By.TAG_NAME, "body").text
    assert "<b>nomail</b>@contoso.com" in text and not browser.find_elements(By.CSS_SELECTOR, "article b")
    assert "costCode" in text

    Select(browser.find_element(By.NAME, "kind")).select_by_value("some_not_synchronized")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    WebDriverWait(browser, 10).until(lambda d: "kind=some_not_synchronized" in d.current_url)
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == 1 and "costCode" in cards[0].text

    cards[0].find_element(By.XPATH, ".//button[normalize-space()='Acknowledge']").click()
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "article.card.acknowledged"))
    assert not browser.find_elements(By.XPATH, "//article//button[normalize-space()='Acknowledge']")
    api = system.request("GET", f"{system.url('notifications')}/admin/v1/tenants/{tenant}/notifications",
                         token=system.admin_key).json()["items"]
    assert sorted((n["kind"], n["state"]) for n in api) == [("all_not_synchronized", "open"),
                                                            ("some_not_synchronized", "acknowledged")]

    browser.get(page)  # the whole list again, for the screenshot
    browser.set_window_size(1200, 1400)
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "notifications-page.png"))
    browser.set_window_size(390, 1400)  # a phone's width: nothing wider than the viewport
    browser.get(page)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 400
    assert browser.save_screenshot(str(ARTIFACTS / "notifications-page-phone.png"))
