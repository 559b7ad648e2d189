"""OpenAPI schema adjustments (drf-spectacular postprocessing hooks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_filters
from django.urls import Resolver404, resolve

from core.serializers import STAFF_ONLY_FIELDS, StrictFieldsMixin


def staff_only_fields_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Staff-only fields (`Meta.staff_only_fields`) are absent from what tenants read: the
    response components list them as optional and say so."""
    schemas = result.get("components", {}).get("schemas", {})
    for serializer, names in STAFF_ONLY_FIELDS.items():
        component = schemas.get(serializer.__name__.removesuffix("Serializer"))
        if component is None:
            continue
        required = component.get("required", [])
        component["required"] = [name for name in required if name not in names]
        if not component["required"]:
            del component["required"]
        for name in names:
            prop = component.get("properties", {}).get(name)
            if prop is not None:
                prop["description"] = "Staff only: absent from what tenants read."
    return result


ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error's body (docs/api.md §Errors lists the codes).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "field → messages; {} when not about fields",
                },
            },
            "required": ["code", "message", "fields"],
            # some errors carry more beside `fields` (`errors`, `run`, `free`, ...)
            "additionalProperties": True,
        }
    },
    "required": ["error"],
}

_ERROR_STATUSES = {
    "400": "Invalid input (nothing changed).",
    "401": "No, bad, expired or revoked credentials.",
    "403": "Your role may not do this.",
    "404": "No such object, or another tenant's.",
    "409": "The current state does not allow it (nothing changed).",
    "411": "A chunked body the server cannot delimit: send Content-Length.",
    "413": "The body is over the size limit.",
    "415": "The body's media type is not one this operation reads.",
    "429": "Throttled; Retry-After says when.",
    "503": "PostgreSQL or the task queue is down; Retry-After says when.",
}
_WRITES = {"post", "put", "patch", "delete"}


def error_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every operation documents the error body for the statuses it can answer, beside what it
    documents itself: the schema says what error responses hold, for clients and fuzzers."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = {"401", "403", "429", "503"}
            if operation.get("parameters") or "requestBody" in operation:
                statuses.add("400")
            if "{" in path:
                statuses.add("404")
            paginated = any(p.get("name") == "page" for p in operation.get("parameters", ()))
            if method in _WRITES:
                statuses |= {"400", "409"}
            if "requestBody" in operation:
                statuses |= {"411", "413", "415"}
            responses = operation["responses"]
            for status in sorted(statuses):
                responses.setdefault(
                    status, {"description": _ERROR_STATUSES[status], "content": ref}
                )
            if paginated:
                responses.setdefault(
                    "404", {"description": "A page past the last one.", "content": ref}
                )
    return result


def _refs(node: Any) -> Iterator[str]:
    """The component names `node` refers to (`#/components/schemas/<name>`), at any depth."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            yield ref.removeprefix(_SCHEMA_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


_SCHEMA_REF = "#/components/schemas/"


def strict_request_bodies_hook(
    result: dict[str, Any], generator: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """Request bodies of strict serializers (`core.serializers.StrictFieldsMixin`: an unknown key
    is a 400) say so: `additionalProperties: false`, so clients and fuzzers know an extra key is
    invalid input, not ignored."""
    schemas = result.get("components", {}).get("schemas", {})
    strict = {
        component.name
        for component in getattr(getattr(generator, "registry", None), "_components", {}).values()
        if component.type == "schemas" and isinstance(component.object, StrictFieldsMixin)
    }
    # what request bodies refer to, and what those refer to in turn
    pending = [name for path in result.get("paths", {}).values() for op in path.values()
               if isinstance(op, dict) for name in _refs(op.get("requestBody", {}))]  # fmt: skip
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_refs(schemas[name]))
    for name in seen & strict:
        if schemas[name].get("type") == "object":
            schemas[name]["additionalProperties"] = False
    return result


def _filter_names(path: str) -> dict[str, Any]:
    """The django-filter filters of the view at `path` (a schema path), by query parameter."""
    try:
        match = resolve(path.replace("{id}", "1"))
    except Resolver404:
        return {}
    view = getattr(match.func, "cls", None)
    filterset = getattr(view, "filterset_class", None)
    if filterset is not None:
        return dict(filterset.base_filters)
    return dict.fromkeys(getattr(view, "filterset_fields", None) or ())


def empty_filters_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A filter given empty (`?tenant=`, as an HTML form sends an unset field) filters nothing:
    its query parameter says `allowEmptyValue`. Multiple-choice filters are the exception: an
    empty value there is a choice, and not a valid one."""
    for path, operations in result.get("paths", {}).items():
        operation = operations.get("get")
        if not isinstance(operation, dict) or not operation.get("parameters"):
            continue
        filters = _filter_names(path)
        for parameter in operation["parameters"]:
            name = parameter.get("name")
            if parameter.get("in") != "query" or parameter.get("required") or name not in filters:
                continue
            if not isinstance(filters[name], django_filters.MultipleChoiceFilter):
                parameter["allowEmptyValue"] = True
    return result


NO_NUL = r"^[^\x00]*$"


def text_parameters_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Free-text query parameters (`search`, `number`, `source`, ...) say they take no NUL
    character: Django's and DRF's text fields refuse it (400), as PostgreSQL text cannot hold it.
    `ordering` is not one: DRF's ordering filter ignores what it does not know, NUL included."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                schema = parameter.get("schema", {})
                free = not {"enum", "pattern", "format"} & set(schema)
                text = parameter.get("in") == "query" and parameter.get("name") != "ordering"
                if text and schema.get("type") == "string" and free:
                    schema["pattern"] = NO_NUL
    return result
