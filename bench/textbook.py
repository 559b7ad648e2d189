"""Textbook DRF list endpoints: the baseline that bench/list_endpoints.py compares with.

What the DRF tutorial writes: a `ListAPIView` over a `ModelSerializer` with every field,
page-number pagination of 50, no authentication, permission or throttling, and a plain
`.filter()` on the query parameters the comparison needs (`tenant=` and the endpoint's own
filter). It renders with DRF's own renderers (DRF's default `DEFAULT_RENDERER_CLASSES`), not
the project's orjson one. Served only when the setting `BENCH_ENDPOINTS` is true (bench/run.py
turns it on for its gunicorn; never in production), under `/bench/`:

    /bench/textbook/leases/?tenant=<id>&status=<status>
    /bench/textbook/usage-records/?tenant=<id>&metric=<metric code>
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from rest_framework import generics, pagination, renderers, serializers
from rest_framework.permissions import AllowAny

from billing.models import UsageRecord
from leasing.models import Lease


class TextbookPagination(pagination.PageNumberPagination):
    page_size = 50


class LeaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lease
        fields = "__all__"


class UsageRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = UsageRecord
        fields = "__all__"


class _TextbookListView(generics.ListAPIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer]
    pagination_class = TextbookPagination
    filter_backends: list[Any] = []


class LeaseList(_TextbookListView):
    serializer_class = LeaseSerializer
    queryset = Lease.objects.order_by("id")

    def get_queryset(self) -> QuerySet[Lease]:
        queryset = super().get_queryset()
        params = self.request.query_params
        if "tenant" in params:
            queryset = queryset.filter(tenant=params["tenant"])
        if "status" in params:
            queryset = queryset.filter(status=params["status"])
        return queryset


class UsageRecordList(_TextbookListView):
    serializer_class = UsageRecordSerializer
    queryset = UsageRecord.objects.order_by("id")

    def get_queryset(self) -> QuerySet[UsageRecord]:
        queryset = super().get_queryset()
        params = self.request.query_params
        if "tenant" in params:
            queryset = queryset.filter(tenant=params["tenant"])
        if "metric" in params:
            queryset = queryset.filter(metric__code=params["metric"])
        return queryset


urlpatterns = [
    path("textbook/leases/", LeaseList.as_view(), name="bench-textbook-leases"),
    path("textbook/usage-records/", UsageRecordList.as_view(), name="bench-textbook-usage"),
]
