from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.request import Request

from core.exceptions import InvalidInput


def _whole_number(raw: str, name: str, *, maximum: int | None = None) -> int:
    """`raw` as an integer from 1 (to `maximum`), else a 400 naming the parameter."""
    bound = f"1 to {maximum}" if maximum else "1 or more"
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        raise InvalidInput(f"{name} is a whole number, {bound}.", fields={name: [f"Use {bound}."]})
    return value


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (at most 500); responses carry count, next, previous, results.

    A `page` or `page_size` that is not a whole number in range is a 400 (as a typo anywhere
    else is), not DRF's silent fallback to the default size; a page past the last is a 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # `?page=last` is not documented: pages are numbers

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _whole_number(raw, self.page_size_query_param, maximum=self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None:
            _whole_number(raw, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = "A page number (from 1); past the last page is a 404."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters
