import django_filters

from core.filters import BooleanFilter, FilterSet, IdFilter
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Card, CardModel, Rack, Server


class RackFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RackStatus.choices)

    class Meta:
        model = Rack
        fields = ["site", "status"]


class ServerFilter(FilterSet):
    site = IdFilter(field_name="rack__site")

    class Meta:
        model = Server
        fields = ["rack", "site"]


class CardModelFilter(FilterSet):
    class Meta:
        model = CardModel
        fields = ["vendor", "domestic", "is_active"]


class CardFilter(FilterSet):
    site = IdFilter(field_name="server__rack__site")
    rack = IdFilter(field_name="server__rack")
    status = django_filters.MultipleChoiceFilter(choices=CardStatus.choices)
    domestic = BooleanFilter(field_name="card_model__domestic")

    class Meta:
        model = Card
        fields = ["server", "rack", "site", "card_model", "status", "domestic"]
