"""The API's JSON renderer (orjson) writes the bytes DRF's JSONRenderer writes."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict

from core.renderers import JSONRenderer
from core.roles import Role

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

VALUES = [
    None,
    {"count": 2, "next": None, "previous": "http://x/?page=1", "results": [{"id": 1}, {}]},
    {"error": {"code": "invalid", "message": ErrorDetail("Bad.", code="invalid"), "fields": {}}},
    {"naïve 名": '租赁 — “quotes” \\ "', "sep": "a\u2028b\u2029c", "tab": "\t\n"},
    {"datetime": dt.datetime(2027, 3, 10, 4, 0, 0, 123456, tzinfo=dt.UTC)},
    {"local": dt.datetime(2027, 3, 10, 12, 0, tzinfo=SHANGHAI), "date": dt.date(2027, 3, 1)},
    {"time": dt.time(9, 30, 15, 250000), "delta": dt.timedelta(hours=1, seconds=3)},
    {"decimal": Decimal("1234.50"), "uuid": uuid.UUID(int=7), "lazy": gettext_lazy("Invalid.")},
    {"tuple": (1, 2), "set": [True, False], "role": Role.TENANT, 7: "int key"},
    {"big": 2**70, "float": 0.1, "negative": -3},
    ReturnDict({"id": 1}, serializer=None),
    [1, "two", [3.5, None]],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_bytes_are_drfs(value):
    assert JSONRenderer().render(value) == renderers.JSONRenderer().render(value)


def test_indented_output_is_drfs():
    value = {"a": [1, {"b": None}]}
    ours = JSONRenderer().render(value, "application/json; indent=4")
    assert ours == renderers.JSONRenderer().render(value, "application/json; indent=4")
    assert b"\n    " in ours
