"""Every stored text has a length limit, so an over-long input is a 400, never a 500."""

from django.apps import apps
from django.db import models

OUR_APPS = ("accounts", "analytics", "billing", "core", "leasing", "marketplace")
# Written only by the service itself (a failed run's error), never from a request.
SYSTEM_TEXTS = {"billing.InvoiceRun.error", "analytics.RecomputeRun.error"}


def test_every_text_field_a_request_can_fill_has_a_max_length():
    unbounded = []
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                name = f"{app}.{model.__name__}.{field.name}"
                if isinstance(field, models.TextField) and name not in SYSTEM_TEXTS:
                    unbounded.append(name)
                if isinstance(field, models.CharField) and not field.max_length:
                    unbounded.append(name)
    assert unbounded == []
