"""JSON out with orjson answers exactly what the standard library accepted, in the same form."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask, jsonify

from shared import jsonio


@pytest.mark.parametrize("value", [
    {"userName": "zoë@example.com", "active": True, "n": 3, "x": None},
    {"big": 2**70, "negative": -(2**65)},  # past 64 bits: orjson refuses, the standard library writes them
    {1: "a non-string key"},
    ["a", 1.5, {"nested": [True, False]}],
])
def test_dumps_writes_what_the_standard_library_writes_and_loads_reads_it_back(value: object) -> None:
    data = jsonio.dumps(value)

    assert isinstance(data, bytes)
    assert json.loads(data) == json.loads(json.dumps(value, ensure_ascii=False))
    assert jsonio.loads(data) == json.loads(data)


def test_loads_raises_a_value_error_on_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        jsonio.loads(b"{not json")


def test_flask_answers_keep_sorted_keys_and_http_dates_for_datetimes() -> None:
    app = Flask(__name__)
    app.json = jsonio.OrjsonProvider(app)
    when = dt.datetime(2026, 12, 7, 18, 30, tzinfo=dt.UTC)
    with app.app_context():
        answer = jsonify({"b": 1, "a": when, "c": 2**70})

    assert answer.mimetype == "application/json"
    assert json.loads(answer.get_data()) == {"a": "Mon, 07 Dec 2026 18:30:00 GMT", "b": 1, "c": 2**70}
    assert list(json.loads(answer.get_data())) == ["a", "b", "c"]
