"""Each service's admin API under /admin/v1: flask-smorest, one OpenAPI document per service, one scheme."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

ADMIN_PREFIX = "/admin/v1"
_SECURITY = {
    "components": {"securitySchemes": {
        "adminKey": {"type": "http", "scheme": "bearer", "description": "deployment or tenant admin key"}}},
    "security": [{"adminKey": []}],
}


def install_admin_api(app: Flask, title: str) -> Api:
    """The Api its admin blueprints register on; the document is served at /admin/v1/openapi.json.

    Call before `shared.app.install_common`: flask-smorest's HTTPException handler must give way to
    the problem bodies that install_common registers afterwards.
    """
    app.config.update(API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.0.3",
                      OPENAPI_URL_PREFIX=ADMIN_PREFIX, OPENAPI_JSON_PATH="openapi.json")
    return Api(app, spec_kwargs=_SECURITY)
