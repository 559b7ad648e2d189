"""A list page is read with its count in one prepared statement, compiled once per shape of
query (core.viewsets.fetch_page): the same answers as DRF's pagination of the same rows (a count
query, then the slice), for every filter, ordering, page and page size, error or not, and for
queries of the same shape with other values (another tenant, another status)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory, force_authenticate

from core import viewsets
from core.roles import Role
from leasing.api.views import LeaseViewSet
from tests.factories import TenantFactory
from tests.leasing.conftest import short_body

pytestmark = pytest.mark.django_db


class DrfPagination(LeaseViewSet):
    """The lease list as it was read before: DRF's paginate_queryset over the `.values()` rows
    (a count query, then the page's slice)."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*self.values_columns()))
        return self.get_paginated_response(self.represent_rows(page))


QUERIES = [
    "", "status=active", "status=ended", "kind=short", "kind=long", "ordering=-id",
    "ordering=start,id", "ordering=-status,-id&page_size=2", "page=2&page_size=2",
    "page=3&page_size=2", "page_size=3", "page=99", "page=2", "page=0", "page=x",
    "page_size=501", "status=bogus", "kind=short&ordering=-start,id&page=2&page_size=1",
    "page=99999999999999999999", "page=184467440737095517",
]  # fmt: skip


def answer(view, user, query):
    request = APIRequestFactory().get(f"/api/v1/leases/?{query}")
    force_authenticate(request, user=user)
    response = view(request)
    return response.status_code, json.loads(JSONRenderer().render(response.data))


def test_pages_match_drf_pagination_for_every_query_and_caller(
    tenant_client, tenant_user, operator, make_user, make_client, model, fleet, frozen_now
):
    for count in (1, 2, 1, 1, 2):
        response = tenant_client.post("/api/v1/leases/", short_body(model, card_count=count))
        assert response.status_code == 201, response.json()
    first = tenant_client.get("/api/v1/leases/").json()["results"][0]["id"]
    assert tenant_client.post(f"/api/v1/leases/{first}/stop/", {}).status_code == 200
    other_user = make_user(Role.TENANT, tenant=TenantFactory())
    other = make_client(other_user)
    for count in (1, 2):
        assert other.post("/api/v1/leases/", short_body(model, card_count=count)).status_code == 201
    empty_user = make_user(Role.TENANT, tenant=TenantFactory())

    ours = LeaseViewSet.as_view({"get": "list"})
    drf = DrfPagination.as_view({"get": "list"})
    seen = set()
    for _ in range(2):  # the second time, every shape's statement is reused
        for user in (tenant_user, other_user, empty_user, operator):
            for query in QUERIES:
                expected = answer(drf, user, query)
                assert answer(ours, user, query) == expected, (user.username, query)
                seen.add(expected[0])
    assert seen == {200, 400, 404}
    assert any(viewsets._page_statements.values())  # statements were reused, not only compiled


def test_the_count_and_the_keys_of_a_page_join_nothing_they_do_not_read(
    tenant_client, model, fleet, frozen_now
):
    """The display names' joins (tenant, card model, site) are made for the page's rows only:
    in the count and the choice of keys they are LEFT JOINs to unique keys that nothing reads,
    which PostgreSQL drops (an INNER JOIN it must run), and the page takes its rows by key."""
    assert tenant_client.post("/api/v1/leases/", short_body(model)).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert tenant_client.get("/api/v1/leases/?status=active").json()["count"] == 1
    (page,) = [q["sql"] for q in queries.captured_queries if '"__count"' in q["sql"]]
    count, rows = page.split(' AS "__count" FROM ', 1)
    columns, keys = rows.split("= ANY(ARRAY(", 1)
    assert "INNER JOIN" in columns  # the names of the page's rows
    for part in (count, keys):
        assert "INNER JOIN" not in part
        assert 'LEFT OUTER JOIN "accounts_tenant"' in part
