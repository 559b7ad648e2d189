from rest_framework import serializers

from accounts.models import Tenant, User
from core.serializers import StrictModelSerializer, StrictSerializer


class TenantSerializer(StrictModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "category", "tax_id", "billing_address", "created_at"]
        read_only_fields = ["id", "created_at"]


class MeSerializer(serializers.ModelSerializer):
    tenant = TenantSerializer(read_only=True, allow_null=True, help_text="null for staff")

    class Meta:
        model = User
        fields = ["id", "username", "role", "tenant"]


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="the key, shown this once: send `Authorization: Token <key>`"
    )
    expiry = serializers.DateTimeField(allow_null=True)


class TokensRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="how many tokens were revoked")
