"""File downloads (CSV exports, PDFs): one way to write them, one way to negotiate them.

- `csv_text` writes every CSV the service produces. Text cells that a spreadsheet would read as
  a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`, as
  OWASP recommends for CSV injection; numbers, negative ones included, stay numbers.
- `CSVRenderer` and `PDFRenderer` let a download's action accept its own media type (and `*/*`)
  in content negotiation. The actions answer with the file itself; anything a renderer is
  handed to render is an error body, which it writes as JSON, so errors keep the API's shape.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

# What a spreadsheet starts a formula (or a DDE call) with.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number ("-12.50", "+3", "1e5" is not one): a spreadsheet reads it as a number.
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

CSV_MEDIA_TYPE = "text/csv"
PDF_MEDIA_TYPE = "application/pdf"


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell that cannot be a formula. Non-text values (Decimal, int, date)
    and texts that are plain numbers are kept; None is an empty cell."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document: the header, then each row with every cell through `csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def csv_dict_stream(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], batch: int = 2000
) -> Iterator[str]:
    """`csv_dict_text`'s document in pieces of `batch` rows (the header first), for a streamed
    response: the same cells, never the whole document in memory."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(name) for name in columns])
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row.get(column)) for column in columns])
        if n % batch == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_dict_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A CSV document of dict rows, keeping `columns` in order (other keys are left out)."""
    return csv_text(columns, ([row.get(column) for column in columns] for row in rows))


def csv_response(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_streaming_response(pieces: Iterator[str], filename: str) -> StreamingHttpResponse:
    """`csv_response` for a document written in pieces (`csv_dict_stream`)."""
    response = StreamingHttpResponse(pieces, content_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=PDF_MEDIA_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class DownloadRenderer(BaseRenderer):
    """Accepts a download's media type in content negotiation. The action returns the file
    itself (an HttpResponse, which DRF does not render); what reaches `render` is an error
    body, written as JSON with a JSON content type."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return JSONRenderer().render(data, "application/json", renderer_context)


class CSVRenderer(DownloadRenderer):
    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"


class PDFRenderer(DownloadRenderer):
    media_type = PDF_MEDIA_TYPE
    format = "pdf"
    charset = None
    render_style = "binary"


# Renderer lists for views and actions: `renderer_classes=...`. The first one answers `*/*`.
PDF_DOWNLOAD: list[type[BaseRenderer]] = [PDFRenderer, JSONRenderer]
CSV_DOWNLOAD: list[type[BaseRenderer]] = [CSVRenderer, JSONRenderer]
JSON_OR_CSV: list[type[BaseRenderer]] = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]


def wants_csv(request: Request, requested_format: str | None) -> bool:
    """A JSON-or-CSV read answers CSV for `?format=csv` or when the client accepts only CSV
    (content negotiation picked the CSV renderer)."""
    if requested_format is not None:
        return requested_format == "csv"
    return isinstance(getattr(request, "accepted_renderer", None), CSVRenderer)
