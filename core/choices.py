"""Choice fields' errors name the valid choices ("must be one of 12, 24, 36, 48, 60").

DRF's `ChoiceField` (and `MultipleChoiceField`, and the choice fields ModelSerializers build for
model fields with choices) says only "is not a valid choice". `list_choices_in_errors()`, run
once at start-up (`CoreConfig.ready`), makes every one of them list its choices: one place, so
a new choice field needs nothing.
"""

from __future__ import annotations

from typing import Any, NoReturn

from rest_framework import fields

INVALID_CHOICE = '"{input}" is not a valid choice; must be one of {choices}.'


def invalid_choice_message(value: Any, choices: Any) -> str:
    """The one wording for a value outside a fixed set, for serializers and query filters."""
    return INVALID_CHOICE.format(input=value, choices=", ".join(map(str, choices)))


def _fail(self: fields.ChoiceField, key: str, **kwargs: Any) -> NoReturn:
    if key == "invalid_choice":
        kwargs.setdefault("choices", ", ".join(map(str, self.choice_strings_to_values)))
    fields.Field.fail(self, key, **kwargs)
    raise AssertionError("fail always raises")  # pragma: no cover


def list_choices_in_errors() -> None:
    for cls in (fields.ChoiceField, fields.MultipleChoiceField):
        messages = {**cls.default_error_messages, "invalid_choice": INVALID_CHOICE}
        cls.default_error_messages = messages
    fields.ChoiceField.fail = _fail  # type: ignore[method-assign,assignment]
