"""The API's JSON renderer: DRF's JSONRenderer, encoded by orjson.

A list page is ~20 KB of JSON; Python's json module (with DRF's encoder class) took ~10 % of a
lease page's CPU here, orjson a tenth of that. The bytes are DRF's: compact separators, UTF-8
as it is (`UNICODE_JSON`), U+2028 and U+2029 escaped; every type orjson would write its own way
(datetimes, dates and times, dataclasses) goes to DRF's encoder, as do integers past 64 bits
(orjson refuses them: the whole answer is then encoded by DRF). Indented output (the browsable
API, `Accept: application/json; indent=4`) and non-default JSON settings are left to DRF. One
difference: a float NaN or infinity, which DRF's strict JSON refuses (a 500), is written `null`
by orjson; the API sends no floats that can be either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type or "", dict(renderer_context or {}))
        if indent is not None or self.ensure_ascii or not self.compact:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=self.encoder_class().default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: DRF's encoder takes it
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:  # as DRF: a strict JS subset
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out
