"""The audit log: every write records who, what, when and the state before and after."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.forms.models import model_to_dict

from core.actors import Actor, acting_user_pk
from core.models import AuditLog


def snapshot(instance: models.Model | None) -> dict[str, Any] | None:
    """A JSON-safe dict of a model instance's concrete fields."""
    if instance is None:
        return None
    data = model_to_dict(instance, fields=[f.name for f in instance._meta.concrete_fields])
    # Round-trip through the encoder so dates, Decimals and UUIDs become JSON strings.
    encoder = DjangoJSONEncoder()
    return {key: _jsonable(value, encoder) for key, value in data.items()}


def _jsonable(value: Any, encoder: DjangoJSONEncoder) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item, encoder) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, encoder) for k, v in value.items()}
    if isinstance(value, models.Model):
        return value.pk
    return encoder.default(value)


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    """Append one audit row. Call inside the write's transaction so both commit or neither."""
    if instance is not None:
        object_type = object_type or instance._meta.label
        object_id = object_id if object_id is not None else instance.pk
    return AuditLog.objects.create(
        actor_id=acting_user_pk(actor),
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        before=before,
        after=after,
        reason=reason,
    )


_M = TypeVar("_M", bound=models.Model)


@transaction.atomic
def audited_create(*, actor: Actor, model: type[_M], action: str, fields: dict[str, Any]) -> _M:
    """Create a `model` row from `fields` and audit it (`action`), in one transaction."""
    instance: _M = model._default_manager.create(**fields)
    audit_record(actor=actor, action=action, instance=instance, after=snapshot(instance))
    return instance


@transaction.atomic
def audited_update(*, actor: Actor, instance: _M, action: str, changes: dict[str, Any]) -> _M:
    """Set `changes` on `instance`, save it and audit it with its state before and after."""
    before = snapshot(instance)
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.save()
    audit_record(
        actor=actor, action=action, instance=instance, before=before, after=snapshot(instance)
    )
    return instance


@transaction.atomic
def audited_delete(*, actor: Actor, instance: models.Model, action: str) -> None:
    """Delete `instance` and audit it with its last state."""
    before = snapshot(instance)
    pk = instance.pk
    instance.delete()
    audit_record(
        actor=actor, action=action, object_type=instance._meta.label, object_id=pk, before=before
    )
