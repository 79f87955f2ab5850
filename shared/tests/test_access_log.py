"""shared.access_log: gunicorn's access line as one valid JSON object, whatever the path holds."""

from __future__ import annotations

import datetime as dt
import json
import logging
from types import SimpleNamespace

from gunicorn.config import Config

from shared.access_log import AccessLogger


def _line(path: str, caplog: object) -> dict:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("proc_name", "scim-api")
    logger = AccessLogger(cfg)
    logger.access_log.propagate = True
    resp = SimpleNamespace(status="201 CREATED", sent=512, headers=[("Content-Type", "x"), ("X-Request-Id", "r1")])
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path}
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):  # type: ignore[attr-defined]
        logger.access(resp, None, environ, dt.timedelta(seconds=1, microseconds=250))
    return json.loads(caplog.records[-1].getMessage())  # type: ignore[attr-defined]


def test_the_line_carries_each_field(caplog: object) -> None:
    entry = _line("/scim/v2/acme/Users", caplog)
    assert {k: entry[k] for k in ("method", "path", "status", "bytes", "duration_us", "request_id")} == {
        "method": "POST", "path": "/scim/v2/acme/Users", "status": 201, "bytes": 512, "duration_us": 1_000_250,
        "request_id": "r1"}
    assert entry["ts"].startswith("[") and entry["service"] == "scim-api"


def test_a_path_with_quotes_and_backslashes_stays_one_json_object(caplog: object) -> None:
    assert _line('/scim/v2/a"b\\c/Users', caplog)["path"] == '/scim/v2/a"b\\c/Users'
