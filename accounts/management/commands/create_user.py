import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Tenant
from accounts.services import tenant_create, user_create
from core.exceptions import ApplicationError
from core.roles import Role


class Command(BaseCommand):
    help = (
        "Create a user with a role (and tenant, for tenant users); print its API token (shown "
        "this once: only a digest is stored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--tenant", help="tenant name (tenant users); created when it does not exist"
        )
        parser.add_argument("--password", help="password for session login (random if omitted)")
        parser.add_argument(
            "--token-ttl-days",
            type=int,
            help="days until the token expires (default: the API_TOKEN_TTL_DAYS setting)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        tenant_name = options.get("tenant")
        if role == Role.TENANT and not tenant_name:
            raise CommandError("--tenant is required for tenant users")
        if role != Role.TENANT and tenant_name:
            raise CommandError("--tenant is only for tenant users")
        ttl_days = options.get("token_ttl_days")
        if ttl_days is not None and ttl_days < 1:
            raise CommandError("--token-ttl-days must be at least 1")
        try:
            with transaction.atomic():
                tenant = None
                if tenant_name:
                    tenant = Tenant.objects.filter(name=tenant_name).first() or tenant_create(
                        name=tenant_name
                    )
                _, key = user_create(
                    username=options["username"],
                    role=role,
                    tenant=tenant,
                    password=options.get("password"),
                    token_ttl=None if ttl_days is None else dt.timedelta(days=ttl_days),
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(key)
