"""Helpers of the role matrix (tests/core/test_role_matrix.py): the routes the URL conf serves,
with the methods each view handles, and how a response's status reads against an expectation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.viewsets import ViewSetMixin

# Plain function views (the healthz check, the admin's views) say nothing of their methods: the
# matrix asks them what a browser or client sends, GET and POST.
FUNCTION_VIEW_METHODS = ("GET", "POST")
# HEAD answers as GET and OPTIONS as a read (DRF checks permissions for it as for GET); the matrix
# states the methods with handlers of their own.
IMPLIED = {"head", "options"}

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_text(pattern: Any) -> str:
    """A pattern as the matrix names it: `^leases/(?P<pk>[^/.]+)/stop/$` → `leases/{pk}/stop/`,
    `cards/<int:pk>/maintenance/` → `cards/{pk}/maintenance/`."""
    text = str(pattern.pattern).removeprefix("^").removesuffix("$")
    text = _GROUP.sub(lambda m: "{" + m.group(1) + "}", text)
    return _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", text)


def view_methods(pattern: URLPattern) -> tuple[str, ...]:
    """The methods `pattern`'s view handles: a viewset's action map (less what its
    `http_method_names` refuses, and actions it does not implement), a class-based view's
    handlers, else `FUNCTION_VIEW_METHODS`."""
    callback = pattern.callback
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    actions: dict[str, str] | None = getattr(callback, "actions", None)
    if cls is not None and issubclass(cls, ViewSetMixin) and actions is not None:
        allowed = set(cls.http_method_names) - IMPLIED
        methods = [m for m, action in actions.items() if m in allowed and hasattr(cls, action)]
    elif cls is not None:
        methods = [m for m in cls.http_method_names if m not in IMPLIED and hasattr(cls, m)]
    else:
        return FUNCTION_VIEW_METHODS
    order = ["get", "post", "put", "patch", "delete"]
    return tuple(m.upper() for m in sorted(methods, key=order.index))


@dataclass(frozen=True)
class Route:
    path: str  # as route_text names it, from the site's root: `api/v1/leases/{pk}/stop/`
    methods: tuple[str, ...]
    params: tuple[str, ...]  # the path's parameters, in order
    view: str


def served_routes(patterns: list[URLPattern | URLResolver] | None = None) -> Iterator[Route]:
    """Every route of the URL conf with the methods its view handles."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[Route]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + route_text(pattern))
                continue
            path = prefix + route_text(pattern)
            callback = pattern.callback
            view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            name = view or callback
            yield Route(
                path=path,
                methods=view_methods(pattern),
                params=tuple(re.findall(r"\{(\w+)\}", path)),
                view=f"{name.__module__}.{name.__qualname__}",
            )

    yield from walk(get_resolver().url_patterns if patterns is None else patterns, "")


# --- Expected outcomes ---------------------------------------------------------------------------

OK = "ok"  # 2xx
CLASSES = {
    OK: lambda code: 200 <= code < 300,
}


def matches(expected: str | int, status: int) -> bool:
    if isinstance(expected, int):
        return status == expected
    return CLASSES[expected](status)


# --- "Nothing changed" ---------------------------------------------------------------------------


def writes_so_far() -> dict[str, int]:
    """Rows inserted, updated or deleted per table in the current transaction (PostgreSQL's
    own counters, rolled-back savepoints included): a refused request must not add to them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {name: count for name, count in cursor.fetchall() if count}
