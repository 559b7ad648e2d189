import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser


class DecimalJSONParser(JSONParser):
    """JSON with numbers as Decimal, never float: money and quantities stay exact."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc


class CSVBodyParser(BaseParser):
    """A raw `text/csv` body (`curl --data-binary @file.csv -H 'Content-Type: text/csv'`).

    Gives the bytes as they came, read at most one byte past the view's `csv_max_bytes` (else
    `DATA_UPLOAD_MAX_MEMORY_SIZE`), so an oversized body is never held whole and the service
    that reads it can still tell it was too large.
    """

    media_type = "text/csv"

    def parse(  # type: ignore[override]  # the raw bytes are the data
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> bytes:
        if stream is None:
            return b""
        view = (parser_context or {}).get("view")
        limit = getattr(view, "csv_max_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        content: bytes = stream.read(limit + 1)
        return content
