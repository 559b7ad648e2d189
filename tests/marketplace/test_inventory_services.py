"""Sites, racks, servers, card models and metrics are written by services, audited there; the
rules live in the services, so a script or an admin action calling them keeps them too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.models import Metric
from billing.pricebook import metric_update
from core.exceptions import InvalidInput
from core.models import AuditLog
from marketplace import services
from marketplace.models import Rack, Server, Site
from tests.factories import RackFactory, ServerFactory

pytestmark = pytest.mark.django_db


def test_sites_racks_and_servers_are_written_and_audited_by_services(operator: Any) -> None:
    site = services.site_create(actor=operator, name="Chengdu 1", code="CD1")
    rack = services.rack_create(actor=operator, site=site, name="R1")
    server = services.server_create(actor=operator, rack=rack, name="s1", position=1)
    services.site_update(actor=operator, site=site, city="Chengdu")
    services.server_delete(actor=operator, server=server)
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "site.create",
        "rack.create",
        "server.create",
        "site.update",
        "server.delete",
    ]
    assert Site.objects.get().city == "Chengdu"
    assert not Server.objects.exists()


def test_a_decommissioned_rack_stays_so_in_the_service(operator: Any) -> None:
    rack = RackFactory(status="decommissioned")
    with pytest.raises(InvalidInput) as caught:
        services.rack_update(actor=operator, rack=rack, status="racked")
    assert "status" in caught.value.fields
    assert Rack.objects.get().status == "decommissioned"
    assert not AuditLog.objects.exists()


def test_a_decommissioned_rack_takes_no_server(operator: Any, operator_client: Any) -> None:
    rack = RackFactory(status="decommissioned")
    with pytest.raises(InvalidInput):
        services.server_create(actor=operator, rack=rack, name="s1", position=1)
    with pytest.raises(InvalidInput):
        services.server_update(actor=operator, server=ServerFactory(), rack=rack)
    response = operator_client.post(
        "/api/v1/servers/", {"rack": rack.pk, "name": "s2", "position": 2}, format="json"
    )
    assert response.status_code == 400
    assert "rack" in response.json()["error"]["fields"]
    assert Server.objects.filter(rack=rack).count() == 0


def test_a_billable_metric_keeps_its_price(finance: Any, finance_client: Any) -> None:
    metric = Metric.objects.get(code="storage_tb_hours")
    with pytest.raises(InvalidInput):
        metric_update(actor=finance, metric=metric, unit_price=None)
    response = finance_client.patch(
        f"/api/v1/metrics/{metric.pk}/", {"unit_price": None}, format="json"
    )
    assert response.status_code == 400
    assert "unit_price" in response.json()["error"]["fields"]
    metric_update(actor=finance, metric=metric, unit_price=Decimal("0.2"))
    metric.refresh_from_db()
    assert metric.unit_price == Decimal("0.2")
    assert AuditLog.objects.get().action == "metric.update"
