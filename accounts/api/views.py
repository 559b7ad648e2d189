from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import (
    MeSerializer,
    TenantSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    TokensRevokedSerializer,
)
from accounts.models import Tenant, User
from core.exceptions import InvalidInput
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


class TokenObtainView(APIView):
    """Get an API token with a username and password.

    A password login like the admin's: it goes through django-axes, so wrong passwords for one
    username from one address lock that pair out (429). The token's key is in this answer only;
    it expires after `API_TOKEN_TTL_DAYS` days."""

    authentication_classes: list[type] = []  # credentials are in the body, not a header
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # a wrong password is a 401 (DRF makes it a 403 on a view without authenticators),
        # naming the scheme the API takes
        return "Token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: TokenSerializer},
        auth=[],
        operation_id="auth_token_create",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        http_request = request._request  # django-axes marks a lockout on Django's request
        user = authenticate(http_request, **serializer.validated_data)
        if user is None:
            if getattr(http_request, "axes_locked_out", False):
                raise exceptions.Throttled(wait=settings.AXES_COOLOFF_TIME.total_seconds())
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        issued = services.token_issue(actor=user, user=user)
        body = TokenSerializer({"token": issued.key, "expiry": issued.expiry}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    """Revoke the token this request is authenticated with: its next use is a 401."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Revoked.")})
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, AuthToken):
            raise InvalidInput(
                "This request carries no API token (a session login ends at /api-auth/logout/)."
            )
        services.token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every API token of the requesting user (all devices and scripts)."""

    @extend_schema(request=None, responses=TokensRevokedSerializer)
    def post(self, request: Request) -> Response:
        user: Any = request.user
        revoked = services.tokens_revoke_all(actor=user, user=user)
        return Response(TokensRevokedSerializer({"revoked": revoked}).data)
