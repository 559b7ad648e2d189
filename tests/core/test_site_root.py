"""What a newcomer meets first: `/`, the API root listing, the admin's "View site", the schema."""

import json

import pytest
import yaml
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_site_root_leads_to_the_console_and_its_login(client) -> None:
    response = client.get("/", follow=True)
    assert [hop for hop, _ in response.redirect_chain] == ["/console/", "/console/login/"]
    assert response.status_code == 200


def test_the_admins_view_site_link_is_a_real_page(admin_client) -> None:
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    site_url = admin.site.site_url
    assert site_url and f'href="{site_url}"' in page.content.decode()
    assert admin_client.get(site_url, follow=True).status_code == 200


ROUTED = [
    "sites",
    "racks",
    "servers",
    "card-models",
    "cards",
    "tenants",
    "leases",
    "metrics",
    "usage-records",
    "voucher-programs",
    "voucher-grants",
    "invoice-runs",
    "invoices",
    "credit-notes",
    "business-cases",
]
PLAIN = [
    "me",
    "me/billing-profile",
    "availability",
    "inventory/import",
    "inventory/capacity",
    "reports/occupancy",
    "reports/revenue",
    "reports/recompute",
    "test-clock",
]


@pytest.mark.parametrize("who", ["tenant_client", "finance_client"])
def test_the_api_root_lists_every_resource_with_its_url(request, who) -> None:
    client = request.getfixturevalue(who)
    response = client.get("/api/v1/")
    assert response.status_code == 200, response.content
    listing = response.json()
    for name in ROUTED + PLAIN:
        assert listing[name] == f"http://testserver/api/v1/{name}/", name
    for url in listing.values():  # every listed URL resolves (answering 200, 403, 404 or 405)
        assert client.get(url).status_code != 500


def test_the_api_root_is_listed_to_anyone_but_resources_still_need_a_token(client) -> None:
    assert client.get("/api/v1/").status_code == 200
    assert client.get("/api/v1/leases/").status_code == 401


def test_the_schema_is_json_when_asked_with_format_json(client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_the_schema_is_yaml_by_default_and_with_format_yaml(client) -> None:
    for url in ("/api/schema/", "/api/schema/?format=yaml"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi;")
        assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_the_schema_also_honours_an_accept_header(client) -> None:
    response = client.get(reverse("schema"), HTTP_ACCEPT="application/json")
    assert json.loads(response.content)["openapi"].startswith("3.")
