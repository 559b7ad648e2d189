"""Where a newcomer lands: the API root listing and the OpenAPI schema view.

- `/api/v1/` lists every resource of the API with its absolute URL, read from the URL patterns
  themselves, so a new resource is listed the moment it is routed.
- `/api/schema/` is drf-spectacular's view, answering JSON for `?format=json` (and YAML for
  `?format=yaml` or by default). `URL_FORMAT_OVERRIDE` is off project-wide because `?format=csv`
  belongs to our exports, so the schema view reads its own `format` parameter.
- `/api/docs/` is Swagger UI. All three are open or behind a login by `API_DOCS_PUBLIC`
  (`core.permissions.ApiDocsAccess`); their errors answer in the JSON error body, whatever
  format the page itself has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import ApiDocsAccess

_REGEX_SYNTAX = set("()[]{}<>?*+|\\^$")


def _literal(pattern: Any) -> str | None:
    """A pattern's route when it is a fixed string (a router's `^sites/$` too), else None."""
    route = str(pattern.pattern)
    if isinstance(pattern.pattern, RegexPattern):
        route = route.removeprefix("^").removesuffix("$")
    return None if _REGEX_SYNTAX & set(route) else route


def _plain_routes(patterns: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """Every route under `patterns` without a path parameter: the resources' list URLs."""
    for pattern in patterns:
        route = _literal(pattern)
        if route is None:
            continue
        if isinstance(pattern, URLResolver):
            yield from _plain_routes(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern) and route:
            yield prefix + route


def resource_routes(patterns: Sequence[Any]) -> dict[str, str]:
    """`{"card-models": "card-models/", "reports/occupancy": "reports/occupancy/", ...}`."""
    return {route.rstrip("/"): route for route in sorted(set(_plain_routes(patterns)))}


class ApiRootView(APIView):
    """`GET /api/v1/`: every resource of the API and its URL. Readable by whoever may read the
    schema (`API_DOCS_PUBLIC`): the list says no more than the schema does."""

    permission_classes = [ApiDocsAccess]
    patterns: Sequence[Any] = ()

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        base = request.path
        return Response(
            {
                name: request.build_absolute_uri(base + route)
                for name, route in resource_routes(self.patterns).items()
            }
        )


class FormatParameterNegotiation(DefaultContentNegotiation):
    """Honour `?format=json|yaml` on this view even though `URL_FORMAT_OVERRIDE` is off."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        wanted = format_suffix or request.query_params.get("format") or None
        selected: tuple[BaseRenderer, str] = super().select_renderer(request, renderers, wanted)
        return selected


class ErrorsAsJsonMixin:
    """An error (a 401 when the docs are behind a login) answers in the JSON error body, not in
    the page's own format (YAML, HTML)."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        data = getattr(response, "data", None)
        if response.status_code >= 400 and isinstance(data, dict) and "error" in data:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        finalized: Response = super().finalize_response(  # type: ignore[misc]
            request, response, *args, **kwargs
        )
        return finalized


class SchemaView(ErrorsAsJsonMixin, SpectacularAPIView):
    """The OpenAPI 3 schema: YAML by default; JSON for `?format=json` or an Accept of JSON."""

    content_negotiation_class = FormatParameterNegotiation


class DocsView(ErrorsAsJsonMixin, SpectacularSwaggerView):
    """Swagger UI over the schema."""
