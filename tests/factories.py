import datetime as dt
from decimal import Decimal
from typing import cast

import factory
from knox.models import AuthToken

from accounts.choices import TenantCategory
from accounts.models import Tenant, User
from core.roles import Role
from leasing.models import Lease
from marketplace.models import Card, CardModel, Rack, Server, Site


class TenantFactory(factory.django.DjangoModelFactory[Tenant]):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    category = TenantCategory.ENTERPRISE
    tax_id = factory.Sequence(lambda n: f"91110000MA{n:08d}")
    billing_address = "1 Compute Road, Yichang"


TEST_TOKEN_TTL = dt.timedelta(days=100 * 365)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.TENANT
    tenant = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == Role.TENANT),
        yes_declaration=factory.SubFactory(TenantFactory),
        no_declaration=None,
    )
    password = factory.django.Password("secret-pass")

    @factory.post_generation
    def token(self, create: bool, extracted: object, **kwargs: object) -> None:
        # Only a digest is stored: the factory keeps the key on the instance for `api_key`.
        # Tests travel in time (years ahead, with time_machine): the token outlives any of it.
        # Like the user itself, the token is test set-up, written past the services (and their
        # audit rows, which would otherwise sit in every test's audit log).
        if create:
            user = cast(User, self)
            _, user._api_key = AuthToken.objects.create(user=user, expiry=TEST_TOKEN_TTL)


def api_key(user: User) -> str:
    """The API key a test client sends for `user` (`Authorization: Token <key>`): the one
    UserFactory issued (tokens are stored hashed, so the key is kept on the instance)."""
    key = getattr(user, "_api_key", None)
    if key is None:
        raise LookupError(f"{user} was not made by UserFactory: issue a token with token_issue")
    return str(key)


class SiteFactory(factory.django.DjangoModelFactory[Site]):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")


class RackFactory(factory.django.DjangoModelFactory[Rack]):
    class Meta:
        model = Rack

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"R{n:03d}")
    status = "racked"
    power_kw = Decimal("40.00")


class ServerFactory(factory.django.DjangoModelFactory[Server]):
    class Meta:
        model = Server

    rack = factory.SubFactory(RackFactory)
    name = factory.Sequence(lambda n: f"srv{n:04d}")
    position = factory.Sequence(lambda n: n + 1)


class CardModelFactory(factory.django.DjangoModelFactory[CardModel]):
    class Meta:
        model = CardModel

    vendor = "Huawei"
    name = factory.Sequence(lambda n: f"Ascend-{n}")
    memory_gb = 64
    bf16_tflops = Decimal("320.00")
    domestic = True
    hourly_rate = Decimal("7.5000")
    monthly_rate = Decimal("3900.0000")


class CardFactory(factory.django.DjangoModelFactory[Card]):
    class Meta:
        model = Card

    server = factory.SubFactory(ServerFactory)
    card_model = factory.SubFactory(CardModelFactory)
    serial = factory.Sequence(lambda n: f"SN{n:07d}")
    status = "available"
    capex_cost = Decimal("120000.00")
    commissioned_on = dt.date(2025, 6, 1)


def make_server_with_cards(rack, card_model, cards=8, **server_kwargs):
    """A server in `rack` holding `cards` cards of `card_model`."""
    server = ServerFactory(rack=rack, **server_kwargs)
    return server, [CardFactory(server=server, card_model=card_model) for _ in range(cards)]


class LeaseFactory(factory.django.DjangoModelFactory[Lease]):
    """A bare lease row (no allocations): for tests of the allocation constraint itself."""

    class Meta:
        model = Lease

    tenant = factory.SubFactory(TenantFactory)
    kind = "short"
    card_model = factory.SubFactory(CardModelFactory)
    card_count = 1
    status = "active"
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    end = None
    unit_price = Decimal("7.5000")
