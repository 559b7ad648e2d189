from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import MeSerializer, TenantSerializer
from accounts.models import Tenant, User
from core.permissions import roles
from core.roles import Role
from core.viewsets import AuditedModelViewSet, TenantScopedViewSetMixin, Writes


class MeView(APIView):
    """Who am I: my user, my role and my tenant."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user: Any = request.user
        if user.tenant_id and not User.tenant.is_cached(user):  # a session login
            user = User.objects.select_related("tenant").get(pk=user.pk)
        return Response(MeSerializer(user).data)


class TenantViewSet(TenantScopedViewSetMixin, AuditedModelViewSet):
    """Tenants: companies renting capacity. Staff manage them; a tenant user reads its own."""

    serializer_class = TenantSerializer
    tenant_field = "id"
    permission_classes = [
        roles(read=(Role.TENANT, Role.OPERATOR, Role.FINANCE), write=(Role.OPERATOR, Role.FINANCE))
    ]
    filterset_fields = ["category"]
    search_fields = ["name", "tax_id"]
    ordering_fields = ["id", "name"]
    ordering = ["id"]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]
    queryset = Tenant.objects.all()
    writes = Writes("tenant", services.tenant_create, services.tenant_update)
