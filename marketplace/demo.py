"""The demo fleet: three sites, racks planned and racked, eight-card servers, five card models.

Prices follow public Chinese market figures (late 2025): A100-class cards rent for about ¥8–12
per card-hour; an 8-card H100 server for about ¥75,000 a month (≈ ¥9,375 per card-month).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from marketplace.choices import RackStatus
from marketplace.models import Card, CardModel, Rack, Server, Site

D = Decimal

CARD_MODELS = [
    # vendor, name, memory, bf16 TFLOPS, domestic, hourly, monthly, capex per card
    (
        "NVIDIA",
        "H100-SXM-80G",
        80,
        D("989.00"),
        False,
        D("22.0000"),
        D("9375.0000"),
        D("240000.00"),
    ),
    ("NVIDIA", "A100-SXM-80G", 80, D("312.00"), False, D("9.5000"), D("4800.0000"), D("110000.00")),
    ("Huawei", "Ascend-910B", 64, D("320.00"), True, D("7.5000"), D("3900.0000"), D("120000.00")),
    ("Hygon", "DCU-K100-AI", 64, D("196.00"), True, D("4.8000"), D("2500.0000"), D("65000.00")),
    ("Cambricon", "MLU370-X8", 48, D("96.00"), True, D("3.2000"), D("1700.0000"), D("42000.00")),
]

# code, name, city, province, [(rack status, servers, card model name)]
SITES = [
    ("YC1", "Yichang AIDC", "宜昌 Yichang", "湖北 Hubei", [
        (RackStatus.RACKED, 4, "Ascend-910B"),
        (RackStatus.RACKED, 4, "Ascend-910B"),
        (RackStatus.RACKED, 4, "H100-SXM-80G"),
        (RackStatus.RACKED, 4, "A100-SXM-80G"),
        (RackStatus.PLANNED, 4, "Ascend-910B"),
        (RackStatus.PLANNED, 0, ""),
    ]),
    ("CD1", "Chengdu AIDC", "成都 Chengdu", "四川 Sichuan", [
        (RackStatus.RACKED, 4, "H100-SXM-80G"),
        (RackStatus.RACKED, 4, "DCU-K100-AI"),
        (RackStatus.RACKED, 4, "Ascend-910B"),
        (RackStatus.PLANNED, 0, ""),
    ]),
    ("QY1", "Qingyang AIDC", "庆阳 Qingyang", "甘肃 Gansu", [
        (RackStatus.RACKED, 4, "MLU370-X8"),
        (RackStatus.RACKED, 4, "DCU-K100-AI"),
        (RackStatus.RACKED, 4, "Ascend-910B"),
        (RackStatus.PLANNED, 0, ""),
        (RackStatus.PLANNED, 0, ""),
    ]),
]  # fmt: skip

CARDS_PER_SERVER = 8


def seed() -> None:
    models = {}
    capex = {}
    for vendor, name, memory, tflops, domestic, hourly, monthly, cost in CARD_MODELS:
        models[name] = CardModel.objects.create(
            vendor=vendor,
            name=name,
            memory_gb=memory,
            bf16_tflops=tflops,
            domestic=domestic,
            hourly_rate=hourly,
            monthly_rate=monthly,
        )
        capex[name] = cost
    cards = []
    for code, name, city, province, racks in SITES:
        site = Site.objects.create(code=code, name=name, city=city, province=province)
        for r_index, (status, server_count, model_name) in enumerate(racks, start=1):
            rack = Rack.objects.create(
                site=site, name=f"{code}-R{r_index:02d}", status=status, power_kw=D("42.00")
            )
            for s_index in range(1, server_count + 1):
                server = Server.objects.create(
                    rack=rack, name=f"{rack.name}-S{s_index:02d}", position=s_index * 4
                )
                for c_index in range(1, CARDS_PER_SERVER + 1):
                    cards.append(
                        Card(
                            server=server,
                            card_model=models[model_name],
                            serial=f"{server.name}-C{c_index}",
                            capex_cost=capex[model_name],
                            commissioned_on=dt.date(2025, 6, 1),
                        )
                    )
    Card.objects.bulk_create(cards)
