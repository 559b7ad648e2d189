from typing import cast

import factory
from rest_framework.authtoken.models import Token

from accounts.choices import TenantCategory
from accounts.models import Tenant, User
from core.roles import Role


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    category = TenantCategory.ENTERPRISE
    tax_id = factory.Sequence(lambda n: f"91110000MA{n:08d}")
    billing_address = "1 Compute Road, Yichang"


class UserFactory(factory.django.DjangoModelFactory):
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
        if create:
            Token.objects.create(user=cast(User, self))
