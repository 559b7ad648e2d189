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
