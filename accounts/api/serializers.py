from rest_framework import serializers

from accounts.models import Tenant, User
from core.serializers import StrictModelSerializer


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
