"""The Django admin belongs to the admin role: a demotion takes it away at once, however made."""

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.models import User
from core.roles import Role

pytestmark = pytest.mark.django_db


def _logged_in(username: str) -> Client:
    client = Client()
    response = client.post("/admin/login/", {"username": username, "password": "secret-pass"})
    assert response.status_code == 302
    return client


def test_an_admin_demoted_by_a_role_save_loses_the_admin_site(make_user) -> None:
    admin = make_user(Role.ADMIN, username="boss", is_staff=True, is_superuser=True)
    client = _logged_in("boss")
    assert client.get("/admin/accounts/user/").status_code == 200
    admin.role = Role.OPERATOR
    admin.save()
    admin.refresh_from_db()
    assert (admin.is_staff, admin.is_superuser) == (False, False)
    assert client.get("/admin/accounts/user/").status_code == 302  # to the login page


def test_demoting_through_the_admin_form_drops_the_flags_and_no_way_back(make_user, tenant) -> None:
    root = make_user(Role.ADMIN, username="root", is_staff=True, is_superuser=True)
    victim = make_user(Role.ADMIN, username="was-admin", is_staff=True, is_superuser=True)
    root_client = _logged_in("root")
    victim_client = _logged_in("was-admin")
    form = root_client.get(f"/admin/accounts/user/{victim.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        role=Role.TENANT, tenant=tenant.pk, is_active="on", groups=[], user_permissions=[],
        date_joined_0=victim.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=victim.date_joined.strftime("%H:%M:%S"),
        last_login_0="", last_login_1="",
    )  # fmt: skip
    response = root_client.post(f"/admin/accounts/user/{victim.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    victim.refresh_from_db()
    assert (victim.role, victim.is_staff, victim.is_superuser) == (Role.TENANT, False, False)
    # the demoted user can no longer reach the admin, so cannot promote itself back
    assert victim_client.get(f"/admin/accounts/user/{victim.pk}/change/").status_code == 302
    assert root.role == Role.ADMIN


def test_the_database_refuses_flags_apart_from_the_role(make_user) -> None:
    operator = make_user(Role.OPERATOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=operator.pk).update(is_staff=True)
