"""Synthetic fleets for benchmarks (`generate_fleet`): bulk inserts, deterministic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from marketplace.choices import RackStatus
from marketplace.demo import CARD_MODELS
from marketplace.models import Card, CardModel, Rack, Server, Site

SERVERS_PER_RACK = 4
CARDS_PER_SERVER = 8
RACKS_PER_SITE = 80
PLANNED_RACKS_PER_SITE = 8


@transaction.atomic
def generate_inventory(*, cards: int, prefix: str = "GF") -> dict[str, int]:
    """A fleet of about `cards` cards: sites of 80 racks (plus 8 planned), racks of four
    eight-card servers, card models assigned rack by rack."""
    models = []
    for vendor, name, memory, tflops, domestic, hourly, monthly, _ in CARD_MODELS:
        model, _ = CardModel.objects.get_or_create(
            name=name,
            defaults={
                "vendor": vendor,
                "memory_gb": memory,
                "bf16_tflops": tflops,
                "domestic": domestic,
                "hourly_rate": hourly,
                "monthly_rate": monthly,
            },
        )
        models.append(model)
    capex = {name: cost for _, name, *_, cost in CARD_MODELS}
    per_rack = SERVERS_PER_RACK * CARDS_PER_SERVER
    rack_count = -(-cards // per_rack)
    site_count = -(-rack_count // RACKS_PER_SITE)
    sites = Site.objects.bulk_create(
        Site(code=f"{prefix}{i:02d}", name=f"Generated site {i}") for i in range(1, site_count + 1)
    )
    racks: list[Rack] = []
    for index in range(rack_count):
        site = sites[index // RACKS_PER_SITE]
        racks.append(
            Rack(site=site, name=f"R{index:04d}", status=RackStatus.RACKED, power_kw=Decimal(40))
        )
    for site in sites:
        racks.extend(
            Rack(site=site, name=f"P{n:02d}", status=RackStatus.PLANNED)
            for n in range(PLANNED_RACKS_PER_SITE)
        )
    racks = Rack.objects.bulk_create(racks, batch_size=2000)
    racked = [r for r in racks if r.status == RackStatus.RACKED]
    servers = Server.objects.bulk_create(
        (
            Server(rack=rack, name=f"{rack.name}-S{s}", position=s * 4)
            for rack in racked
            for s in range(1, SERVERS_PER_RACK + 1)
        ),
        batch_size=5000,
    )
    card_rows = []
    for index in range(cards):
        server = servers[index // CARDS_PER_SERVER]
        model = models[(index // per_rack) % len(models)]
        card_rows.append(
            Card(
                server=server,
                card_model=model,
                serial=f"{prefix}-{index:07d}",
                capex_cost=capex[model.name],
                commissioned_on=dt.date(2025, 1, 1),
            )
        )
    Card.objects.bulk_create(card_rows, batch_size=5000)
    return {"sites": len(sites), "racks": len(racks), "servers": len(servers), "cards": cards}
