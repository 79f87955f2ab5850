"""The directory's database refusing writes reaches Entra as a SCIM 503 that says why (QUAR).

The directory answers a storage fault with a 503 problem (services/directory/tests/test_storage_faults.py);
the SCIM API passes it on as a SCIM error with the directory's Retry-After and its reason, so the admin
reading Entra's provisioning log sees a read-only database, not an unexplained failure, and Entra retries.
"""

from __future__ import annotations

from typing import Any

from directory.models import db
from shared.testing import read_only_database

from .conftest import Scim, error, find, load


def _member_add(user_id: str) -> dict[str, Any]:
    patch = load("tut-patch-group-add-members.json")
    patch["Operations"][0]["value"] = [{"$ref": None, "value": user_id}]
    return patch


def test_a_read_only_directory_database_is_a_scim_503_with_its_reason_and_reads_go_on(scim: Scim) -> None:
    ann = scim.create_user(userName="ann@contoso.com")
    group = scim.create_group("Ops")
    bob = {**load("tut-create-user.json"), "userName": "bob@contoso.com"}
    with read_only_database(db):
        for method, path, body in (("POST", "/Users", bob), ("PATCH", f"/Groups/{group['id']}", _member_add(ann["id"])),
                                   ("DELETE", f"/Users/{ann['id']}", None)):
            resp = scim(method, path, body)
            problem = error(resp, 503)
            assert int(resp.headers["Retry-After"]) > 0
            assert "read-only" in problem["detail"] and "nothing was changed" in problem["detail"], problem
            assert "traceback" not in resp.get_data(as_text=True).lower()
        assert [u["id"] for u in find(scim, 'userName eq "ann@contoso.com"')["Resources"]] == [ann["id"]]
        assert scim("GET", f"/Groups/{group['id']}").status_code == 200
    # Entra's retry, once the database takes writes again.
    assert scim("POST", "/Users", bob).status_code == 201
    assert scim("PATCH", f"/Groups/{group['id']}", _member_add(ann["id"])).status_code == 200
