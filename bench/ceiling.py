"""The ceiling: a bare Flask app behind one internal HTTP hop, the least our architecture (scim-api →
directory over pooled keep-alive HTTP) can cost. Both halves run under the same gunicorn
configuration as our services.

- front (`bench.ceiling:create_front()`): any method under /scim/v2/<tenant>/…; parses the JSON body,
  forwards method, path, query and body to the back with a urllib3 pool (as shared.http.ServiceClient
  does), and answers the back's JSON as application/scim+json.
- back (`bench.ceiling:create_back()`): no storage; answers a canned resource of the right shape:
  201 with the posted body and a new id, a ListResponse holding one user for a query, the
  resource for GET and PATCH, 204 for DELETE.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import urllib3
from flask import Flask, Response, request

SCIM_JSON = "application/scim+json"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "0" * 32,
    "userName": "ceiling@bench.example",
    "active": True,
    "displayName": "Ceiling User",
    "name": {"formatted": "Ceiling User", "givenName": "Ceiling", "familyName": "User"},
    "emails": [{"type": "work", "primary": True, "value": "ceiling@bench.example"}],
    "meta": {"resourceType": "User", "version": 'W/"1"'},
}
GROUP: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "1" * 32,
    "displayName": "Ceiling Group",
    "meta": {"resourceType": "Group", "version": 'W/"1"'},
}


def _scim(doc: Any, status: int) -> Response:
    return Response(json.dumps(doc) if doc is not None else b"", status=status, mimetype=SCIM_JSON)


def create_back() -> Flask:
    app = Flask("ceiling-back")

    @app.get("/healthz")
    def healthz() -> Response:
        return _scim({"status": "ok"}, 200)

    @app.route("/internal/<kind>", methods=["GET", "POST"])
    @app.route("/internal/<kind>/<item>", methods=["GET", "PATCH", "PUT", "DELETE"])
    def handle(kind: str, item: str | None = None) -> Response:
        canned = GROUP if kind == "Groups" else USER
        if request.method == "POST":
            return _scim({**(request.get_json(silent=True) or {}), "id": uuid.uuid4().hex}, 201)
        if request.method == "DELETE":
            return _scim(None, 204)
        if item is None:
            return _scim({"schemas": [LIST], "totalResults": 1, "startIndex": 1, "itemsPerPage": 1,
                          "Resources": [canned]}, 200)
        return _scim({**canned, "id": item}, 200)

    return app


def create_front() -> Flask:
    app = Flask("ceiling-front")
    back_url = os.environ.get("BENCH_CEILING_BACK_URL", "http://127.0.0.1:8102").rstrip("/")
    state: dict[str, Any] = {}

    def pool() -> urllib3.PoolManager:
        # One pool per worker process, created after gunicorn forks (as ServiceClient does).
        if state.get("pid") != os.getpid():
            state.update(pid=os.getpid(), pool=urllib3.PoolManager(num_pools=4, maxsize=16, block=False))
        return state["pool"]

    @app.get("/healthz")
    def healthz() -> Response:
        return _scim({"status": "ok"}, 200)

    @app.route("/scim/v2/<tenant>/<kind>", methods=["GET", "POST"])
    @app.route("/scim/v2/<tenant>/<kind>/<item>", methods=["GET", "PATCH", "PUT", "DELETE"])
    def forward(tenant: str, kind: str, item: str | None = None) -> Response:
        body = request.get_json(silent=True, force=True) if request.data else None
        path = f"/internal/{kind}" + (f"/{item}" if item else "")
        if request.query_string:
            path += "?" + request.query_string.decode()
        resp = pool().request(request.method, back_url + path,
                              body=json.dumps(body).encode() if body is not None else None,
                              headers={"Content-Type": "application/json", "X-Tenant": tenant},
                              timeout=urllib3.Timeout(connect=2.0, read=10.0), retries=False)
        return Response(resp.data, status=resp.status, mimetype=SCIM_JSON)

    return app
