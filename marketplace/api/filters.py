import django_filters

from core.filters import BooleanFilter
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Card, CardModel, Rack, Server


class RackFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RackStatus.choices)

    class Meta:
        model = Rack
        fields = ["site", "status"]


class ServerFilter(django_filters.FilterSet):
    site = django_filters.NumberFilter(field_name="rack__site")

    class Meta:
        model = Server
        fields = ["rack", "site"]


class CardModelFilter(django_filters.FilterSet):
    class Meta:
        model = CardModel
        fields = ["vendor", "domestic", "is_active"]


class CardFilter(django_filters.FilterSet):
    site = django_filters.NumberFilter(field_name="server__rack__site")
    rack = django_filters.NumberFilter(field_name="server__rack")
    status = django_filters.MultipleChoiceFilter(choices=CardStatus.choices)
    domestic = BooleanFilter(field_name="card_model__domestic")

    class Meta:
        model = Card
        fields = ["server", "rack", "site", "card_model", "status", "domestic"]
