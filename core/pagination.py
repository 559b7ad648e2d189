from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import InvalidPage
from rest_framework import pagination
from rest_framework.exceptions import NotFound
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


_MAX_OFFSET = 2**62


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

    def paginate_fetched(
        self,
        fetch: Callable[[int, int], tuple[Sequence[Any], int]],
        request: Request,
        view: Any = None,
    ) -> list[Any] | None:
        """`paginate_queryset` for a page read together with its count: `fetch(offset, limit)`
        gives the page's rows and the count of all rows (0 when the page is empty: a page past
        the last is a 404 whatever the count, and an empty first page means no rows at all).
        The same pages, links, 400s and 404s as `paginate_queryset`, one query fewer."""
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        raw = request.query_params.get(self.page_query_param)
        number = 1 if raw is None else _whole_number(raw, self.page_query_param)
        offset = (number - 1) * page_size
        # past any table's rows and past PostgreSQL's bigint OFFSET (a 500 otherwise): the 404
        # of a page past the last, without a query
        rows, count = ([], 0) if offset > _MAX_OFFSET else fetch(offset, page_size)
        fetched: Any = _FetchedPage(rows, count)  # what the paginator reads of a queryset
        paginator = self.django_paginator_class(fetched, page_size)
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:
            message = self.invalid_page_message.format(page_number=number, message=str(exc))
            raise NotFound(message) from exc
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

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


class _FetchedPage:
    """What Django's Paginator pages when the page is already read: its count, and the page's
    rows whatever slice of them is asked for (the paginator asks for exactly that page)."""

    ordered = True  # the rows come in the queryset's order

    def __init__(self, rows: Sequence[Any], count: int) -> None:
        self.rows, self.total = rows, count

    def count(self) -> int:
        return self.total

    def __getitem__(self, index: slice) -> Sequence[Any]:
        return self.rows
