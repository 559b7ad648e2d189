"""OpenAPI schema adjustments (drf-spectacular postprocessing hooks)."""

from __future__ import annotations

from typing import Any

from core.serializers import STAFF_ONLY_FIELDS


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
            if method in _WRITES:
                statuses |= {"400", "409"}
            if "requestBody" in operation:
                statuses |= {"411", "413"}
            responses = operation["responses"]
            for status in sorted(statuses):
                responses.setdefault(
                    status, {"description": _ERROR_STATUSES[status], "content": ref}
                )
    return result
