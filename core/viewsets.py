"""Viewset bases.

Every viewset that shows tenant data derives from `TenantScopedViewSetMixin`: its queryset is
filtered by the caller's tenant before anything else sees it, so scoping cannot be forgotten.
Another tenant's object is simply not in the queryset: a 404.
"""

from __future__ import annotations

import datetime
import decimal
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet, ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections, models
from django.db.models import F, Subquery
from django.db.models.sql.constants import INNER
from django.dispatch import receiver
from django.utils import timezone
from django_filters.filters import QuerySetRequestMixin
from django_filters.filterset import BaseFilterSet
from django_filters.rest_framework import FilterSet
from rest_framework import ISO_8601, mixins, relations, serializers, viewsets
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.choices import invalid_choice_message
from core.filters import FilterBackend
from core.idempotency import idempotent
from core.pagination import PageNumberPagination
from core.permissions import user_role
from core.prepared import binary_safe, prepared_cursor
from core.roles import Role


def scope_to_tenant(
    queryset: models.QuerySet[Any], user: Any, tenant_filter: Callable[[int], models.Q]
) -> models.QuerySet[Any]:
    """Tenant users see their tenant's rows (those `tenant_filter(tenant_id)` holds for); staff
    see everything; anyone else nothing."""
    role = user_role(user)
    if role == Role.TENANT:
        return queryset.filter(tenant_filter(user.tenant_id))
    if role in {Role.OPERATOR, Role.FINANCE, Role.ADMIN}:
        return queryset
    return queryset.none()


class TenantScopedViewSetMixin:
    """Filters `get_queryset()` by the caller's tenant, before anything else sees it.

    A tenant user's rows are those whose `tenant_field` is the user's tenant (`tenant_filter`
    says so for rows reached otherwise); staff see every row; anyone else none. Subclasses do
    not override `get_queryset` (refused when the class is created: an override could skip the
    scoping); they narrow or decorate the already scoped queryset in `safely_get_queryset`.
    """

    tenant_field = "tenant"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__} overrides get_queryset(), which would bypass tenant "
                "scoping: override safely_get_queryset(self, queryset) instead; it receives "
                "the queryset already scoped to the caller's tenant."
            )

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()  # type: ignore[misc]
        user = self.request.user  # type: ignore[attr-defined]
        scoped = scope_to_tenant(queryset, user, self.tenant_filter)
        return self.safely_get_queryset(scoped)

    def tenant_filter(self, tenant_id: int) -> models.Q:
        """Which rows are the tenant's: those whose `tenant_field` is it."""
        return models.Q(**{self.tenant_field: tenant_id})

    def safely_get_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """Narrow or decorate the caller's scoped queryset (the hook for subclasses)."""
        return queryset

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        """Another tenant's object is a 404 even on an action the caller's role may not take:
        whether it exists is not the caller's to learn."""
        lookup = self.lookup_url_kwarg or self.lookup_field  # type: ignore[attr-defined]
        detail = lookup in self.kwargs  # type: ignore[attr-defined]
        authenticated = bool(request.user and request.user.is_authenticated)
        if detail and authenticated and not getattr(self, "_in_scope_checked", False):
            self._in_scope_checked = True  # get_object() may deny an object permission too
            self.get_object()  # type: ignore[attr-defined]
        super().permission_denied(request, message, code)  # type: ignore[misc]
        raise AssertionError("permission_denied always raises")  # pragma: no cover


@dataclass(frozen=True)
class Writes:
    """The service functions a viewset's writes call (each validates its rules and audits):
    `create(actor=, **data)`, `update(actor=, <instance>=obj, **data)`,
    `delete(actor=, <instance>=obj)`, where `instance` names the object's keyword."""

    instance: str
    create: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None


class AuditedModelViewSet(viewsets.ModelViewSet):
    """CRUD for reference data: idempotent create; the serializer validates the input and the
    service functions named in `writes` write it (audited there), never `serializer.save()`."""

    writes: Writes | None = None

    def _service(self, verb: str) -> Callable[..., Any]:
        service = getattr(self.writes, verb, None)
        if service is None:
            raise ImproperlyConfigured(f"{type(self).__name__} names no service to {verb} with")
        return service

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        create = self._service("create")
        serializer.instance = create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        update = self._service("update")
        target = {self.writes.instance: serializer.instance}  # type: ignore[union-attr]
        serializer.instance = update(actor=self.request.user, **target, **serializer.validated_data)

    def perform_destroy(self, instance: Any) -> None:
        delete = self._service("delete")
        delete(actor=self.request.user, **{self.writes.instance: instance})  # type: ignore[union-attr]


class ReadOnlyScopedViewSet(
    TenantScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    pass


# --- Lists from `.values()` rows ---
#
# A DRF ModelSerializer spends most of a 50-row page building model instances and walking its
# fields generically (~0.1 ms a row here), more than the two queries of the page. For read-only
# representations made of plain columns, `ValuesReadMixin` reads `.values()` rows and converts
# them with the serializer's own field definitions, giving the same JSON: the serializer stays
# the one declaration of the fields (and the OpenAPI schema).

# How a row value becomes JSON, by field kind ("same": the database value as it is).
_SAME, _DATETIME, _DATE, _DECIMAL, _FIELD = "same", "datetime", "date", "decimal", "field"


@dataclass(frozen=True)
class _Column:
    name: str  # key in the representation
    column: str  # key in the `.values()` row
    kind: str
    field: serializers.Field


def _column(name: str, field: serializers.Field) -> _Column:
    source = field.source
    if (
        not isinstance(source, str)
        or not source
        or source == "*"
        or isinstance(field, serializers.SerializerMethodField)
    ):
        raise ImproperlyConfigured(
            f"{name}: only columns, foreign keys and computed columns come from .values() rows"
        )
    column = source.replace(".", "__")
    if isinstance(field, serializers.BaseSerializer):
        raise ImproperlyConfigured(f"{name}: nested serializers need model instances")
    if isinstance(field, relations.SlugRelatedField):
        return _Column(name, f"{column}__{field.slug_field}", _SAME, field)
    if isinstance(field, relations.PrimaryKeyRelatedField) and field.pk_field is None:
        return _Column(name, column, _SAME, field)  # `.values("fk")` is the related id
    if isinstance(field, relations.RelatedField | serializers.ManyRelatedField):
        raise ImproperlyConfigured(f"{name}: {type(field).__name__} needs model instances")
    if isinstance(field, serializers.DateTimeField):
        iso = getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        plain = iso and not hasattr(field, "timezone")
        return _Column(name, column, _DATETIME if plain else _FIELD, field)
    if isinstance(field, serializers.DateField):
        iso = getattr(field, "format", api_settings.DATE_FORMAT) == ISO_8601
        return _Column(name, column, _DATE if iso else _FIELD, field)
    if isinstance(field, serializers.DecimalField):
        plain = (
            getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
            and not field.localize
            and not field.normalize_output
            and field.decimal_places is not None
        )
        return _Column(name, column, _DECIMAL if plain else _FIELD, field)
    if isinstance(field, serializers.ListField) and isinstance(
        field.child, serializers.IntegerField
    ):
        return _Column(name, column, _SAME, field)  # a list of integers from the database
    if type(field) in (
        serializers.IntegerField,
        serializers.CharField,
        serializers.ChoiceField,
        serializers.BooleanField,
    ):
        return _Column(name, column, _SAME, field)
    return _Column(name, column, _FIELD, field)  # the field's own to_representation


_plans: dict[type[Any], tuple[_Column, ...]] = {}


def values_plan(serializer_class: type[Any]) -> tuple[_Column, ...]:
    """The readable fields of `serializer_class` as `.values()` columns (built once: the
    serializer's fields must not depend on the request)."""
    plan = _plans.get(serializer_class)
    if plan is None:
        fields = serializer_class().fields
        plan = tuple(_column(name, f) for name, f in fields.items() if not f.write_only)
        _plans[serializer_class] = plan
    return plan


@receiver(setting_changed)
def _clear_values_plans(**kwargs: Any) -> None:
    _plans.clear()  # the plans read REST_FRAMEWORK formats


def _converters(plan: tuple[_Column, ...]) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
    """(name, column, convert) per field, `None` when the value is used as it is. What DRF's
    fields do, for the current time zone (looked up once, not once a value)."""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None

    def as_datetime(value: Any) -> Any:
        text: str = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def as_decimal(field: serializers.DecimalField) -> Callable[[Any], str]:
        exponent = decimal.Decimal(".1") ** (field.decimal_places or 0)  # not None: see _column
        context = decimal.getcontext().copy()
        if field.max_digits is not None:
            context.prec = field.max_digits
        rounding = field.rounding

        def convert(value: Any) -> str:
            if not isinstance(value, decimal.Decimal):
                value = decimal.Decimal(str(value).strip())
            return f"{value.quantize(exponent, rounding=rounding, context=context):f}"

        return convert

    out: list[tuple[str, str, Callable[[Any], Any] | None]] = []
    for col in plan:
        convert: Callable[[Any], Any] | None
        if col.kind == _SAME:
            convert = None
        elif col.kind == _DATETIME and zone is not None:
            convert = as_datetime
        elif col.kind == _DATE:
            convert = datetime.date.isoformat
        elif col.kind == _DECIMAL:
            convert = as_decimal(col.field)  # type: ignore[arg-type]
        else:
            convert = col.field.to_representation
        out.append((col.name, col.column, convert))
    return out


def represent_rows(
    serializer_class: type[Any],
    rows: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """What `serializer_class(instances, many=True).data` gives, from `.values()` rows."""
    converters = _converters(values_plan(serializer_class))
    return [
        {
            name: row[column]
            if convert is None
            else (None if (v := row[column]) is None else convert(v))
            for name, column, convert in converters
        }
        for row in rows
    ]


def instance_row(
    serializer_class: type[Any], instance: models.Model, *, computed: Iterable[str] = ()
) -> dict[str, Any]:
    """The `.values()` row of `instance` that `represent_rows` takes, read from the instance and
    the related objects cached on it: no query. For an object this transaction has just
    written in full (its columns are what the database holds); `computed` columns are left
    for the caller. A relation the row needs but the instance does not hold is an error, not
    a query per column."""
    skip = set(computed)
    return {
        column.column: _attribute(instance, column.column)
        for column in values_plan(serializer_class)
        if column.column not in skip
    }


def _attribute(instance: models.Model, path: str) -> Any:
    """`.values(path)` of one instance: a foreign key as its id, a choice as its plain value."""
    *relations_, last = path.split("__")
    obj: Any = instance
    for name in relations_:
        field = obj._meta.get_field(name)
        if not field.is_cached(obj) and getattr(obj, field.attname) is not None:
            raise ImproperlyConfigured(f"{type(obj).__name__}.{name} is not in hand")
        obj = getattr(obj, name)
        if obj is None:
            return None
    value = getattr(obj, obj._meta.get_field(last).attname)
    return value.value if isinstance(value, enum.Enum) else value


@dataclass(frozen=True)
class PageLateral:
    """Columns computed in SQL for each row of a page, in the page's own statement: `sql` is
    the body of a LATERAL subquery that reads the page's row as `p` (its `.values()` columns by
    name) and gives exactly one row of `columns`, of types psycopg reads alike in binary and in
    text (integers, arrays of them, text)."""

    sql: str
    columns: tuple[str, ...]


def fetch_page(
    queryset: models.QuerySet[Any],
    rows: models.QuerySet[Any],
    offset: int,
    limit: int,
    lateral: PageLateral | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The `.values()` rows `rows[offset:offset + limit]` and the count of `queryset` (the
    same rows without the joins `.values()` may add, which cannot change the count), in one
    prepared statement (core.prepared): the count is a scalar subquery next to the page, so
    PostgreSQL plans it as it would a `count(*)` of its own, and both read one snapshot. With
    `lateral`, each row also has its columns (joined LATERAL to the page's rows, in their
    order). No rows: the count is 0 (nothing tells it; see
    `PageNumberPagination.paginate_fetched`)."""
    page = rows[offset : offset + limit]
    connection = connections[page.db]
    try:
        statement, params = _page_statement(queryset, page.query, connection, lateral)
    except EmptyResultSet:
        return [], 0
    with prepared_cursor(page.db, binary=statement.binary) as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    if not fetched:
        return [], 0
    count: int = fetched[0][-1]
    if statement.converters:
        fetched = [_converted(row, statement.converters, connection) for row in fetched]
    names = statement.names
    indexes = range(len(names))
    return [{names[i]: row[i] for i in indexes} for row in fetched], count


@dataclass(frozen=True)
class _PageStatement:
    sql: str
    names: tuple[str, ...]  # of the row's columns (the count follows them)
    binary: bool  # results read in binary (core.prepared)
    converters: tuple[tuple[int, tuple[list[Any], Any]], ...]  # Django's, by column


# The statements of the pages read so far, by the shape of their query: compiling a page's
# query and its count took ~0.6 ms of a request, compiling its WHERE alone ~0.07 ms. A query's
# SQL is its WHERE clause (with the parameters) and what the key holds; a shape whose statement
# has parameters outside its WHERE clauses is compiled every time (None).
_page_statements: dict[tuple[Any, ...], _PageStatement | None] = {}
_PAGE_STATEMENTS_MAX = 1000


def _page_statement(
    queryset: models.QuerySet[Any], page: Any, connection: Any, lateral: PageLateral | None
) -> tuple[_PageStatement, tuple[Any, ...]]:
    """The statement of `page` (a sliced `.values()` query of `queryset`) with its count (and
    `lateral`'s columns), and its parameters."""
    key, where_params = _shape(page, connection)
    if key is not None:
        key = (*key, lateral)
    statement = _page_statements.get(key) if key is not None else None
    if statement is not None:
        return statement, (*where_params, *where_params)
    compiler = _joined_late(queryset, page).get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    count_sql, count_params = _count_sql(queryset, connection)
    fields = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
    names = (*page.extra_select, *page.values_select, *page.annotation_select)
    computed, joined = "", ""
    if lateral is not None:
        computed = "".join(f'x."{column}", ' for column in lateral.columns)
        joined = f" CROSS JOIN LATERAL ({lateral.sql}) x"  # p's rows, in p's order
        names = (*names, *lateral.columns)
    statement = _PageStatement(
        sql=f'SELECT p.*, {computed}({count_sql}) AS "__count" FROM ({sql}) p{joined}',
        names=names,
        binary=all(binary_safe(field.output_field) for field in fields),
        converters=tuple(compiler.get_converters(fields).items()),
    )
    if key is not None:
        reusable = tuple(params) == tuple(count_params) == tuple(where_params)
        if len(_page_statements) >= _PAGE_STATEMENTS_MAX:
            _page_statements.clear()
        _page_statements[key] = statement if reusable else None
    return statement, (*count_params, *params)


def _joined_late(queryset: models.QuerySet[Any], page: Any) -> Any:
    """`page` (a slice of `queryset`'s `.values()` rows) with the joins that only `.values()`
    needs (display names: the tenant's, the card's serial…) made for the page's rows only: the
    page's keys are chosen by `queryset` alone, in its order, and the columns read for those.
    PostgreSQL joins before it sorts and cuts: a page of 50 usage records among 963 looked up
    963 cards. Left as it is when its ordering is not plain field names, or when it selects
    more than columns (annotations, extra) or is DISTINCT, which the rebuilt page would drop."""
    plain_order = page.order_by and all(isinstance(name, str) for name in page.order_by)
    if not plain_order or page.annotation_select or page.extra_select or page.distinct:
        return page
    keys = queryset.values("pk")[page.low_mark : page.high_mark]
    keys.query = _removable_joins(keys.query)
    rows = queryset.model._base_manager.filter(_KeyAmong(F("pk"), Subquery(keys)))
    return rows.values(*page.values_select).order_by(*page.order_by).query


class _KeyAmong(models.Func):
    """`key = ANY(ARRAY(<keys>))`: the page's rows by primary key, one index probe a key. As
    `key IN (<keys>)` PostgreSQL planned a semi-join that read every lease of the table to keep
    50 (1.8 ms against 0.7 ms at 10,000 leases)."""

    output_field = models.BooleanField()

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        key, keys = self.get_source_expressions()
        key_sql, key_params = compiler.compile(key)
        keys_sql, keys_params = compiler.compile(keys)  # a Subquery: in parentheses
        return f"{key_sql} = ANY(ARRAY{keys_sql})", [*key_params, *keys_params]


def _shape(query: Any, connection: Any) -> tuple[tuple[Any, ...] | None, list[Any]]:
    """What decides the SQL of a page's query (None: nothing reliable), and the parameters of
    its WHERE clause. Raises EmptyResultSet when the query can match nothing."""
    compiler = query.get_compiler(connection=connection)
    try:
        where_sql, where_params = compiler.compile(query.where)
    except FullResultSet:
        where_sql, where_params = "", []
    if (
        query.extra
        or query.extra_tables
        or query.annotations
        or query.combinator
        or query.group_by
        or query.select_for_update
        or query._filtered_relations
    ):
        return None, where_params
    joins = tuple(
        (alias, query.alias_refcount[alias], join.table_name, getattr(join, "join_type", None))
        for alias, join in query.alias_map.items()
    )
    key = (
        connection.alias, query.model, where_sql, joins, query.values_select, query.order_by,
        query.extra_order_by, query.default_ordering, query.standard_ordering, query.distinct,
        query.distinct_fields, query.low_mark, query.high_mark,
    )  # fmt: skip
    return key, list(where_params)


def _converted(
    row: tuple[Any, ...], converters: tuple[tuple[int, tuple[list[Any], Any]], ...], connection: Any
) -> list[Any]:
    """`row` through Django's converters (what SQLCompiler.apply_converters does)."""
    values = list(row)
    for position, (functions, expression) in converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return values


@receiver(setting_changed)
def _clear_page_statements(**kwargs: Any) -> None:
    _page_statements.clear()


def _count_sql(queryset: models.QuerySet[Any], connection: Any) -> tuple[str, tuple[Any, ...]]:
    """`SELECT count(*)` of `queryset` as SQL: of its primary keys, without ordering (the
    primary key decides every column, so a DISTINCT of the rows counts as one of the keys)."""
    query = queryset.query
    if query.combinator or query.distinct_fields or query.is_sliced or query.group_by:
        raise ImproperlyConfigured("fetch_page counts plain filtered querysets only")
    keys = _removable_joins(queryset.order_by().values("pk").query)
    sql, params = keys.get_compiler(connection=connection).as_sql()
    return f"SELECT count(*) FROM ({sql}) c", tuple(params)


def _removable_joins(query: Any) -> Any:
    """`query` (of keys: the joins of `.values()` columns it no longer selects are still in it)
    with each join along a non-null foreign key written as a LEFT JOIN: the same rows, since
    every row has exactly one partner there (the key is not null, the database checks it, and
    the target is unique), but PostgreSQL drops a LEFT JOIN to a unique key that nothing reads,
    where it must run an INNER one. A page of 50 leases among 116 counted and chose its keys
    through the joins to the tenant and the card model (for `tenant_name`, `card_model_name`)."""
    query = query.clone()
    for alias, join in list(query.alias_map.items()):
        field = getattr(join, "join_field", None)
        if (
            getattr(join, "join_type", None) == INNER
            and isinstance(field, models.ForeignKey)
            and not field.null
            and not join.nullable
        ):
            query.alias_map[alias] = join.promote()
    return query


_values_bases: dict[tuple[type[Any], tuple[str, ...]], models.QuerySet[Any]] = {}


class ValuesReadMixin:
    """`list` and `retrieve` from `.values()` rows, represented as `serializer_class` says.

    The serializer's readable fields must be plain columns or foreign keys (as ids or slugs),
    or be named in `computed_columns` and filled by `complete_rows()` for the rows of a page at
    once (one query for the page, where a serializer would want prefetched objects). Unlike a
    DRF list, a page is a constant number of queries and builds no model instances.
    `represent(pk)` gives one object exactly as its list row (for details and the answers of
    actions).
    """

    computed_columns: tuple[str, ...] = ()
    # the computed columns of a list page in its own statement (else `complete_rows` reads them)
    page_lateral: PageLateral | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        if TenantScopedViewSetMixin in mro and mro.index(TenantScopedViewSetMixin) > mro.index(
            ValuesReadMixin
        ):
            raise TypeError(
                f"{cls.__qualname__}: list TenantScopedViewSetMixin before ValuesReadMixin, "
                "whose per-class cached queryset must be the unscoped one (else the first "
                "caller's tenant filter would be cached for everyone)"
            )

    def values_columns(self) -> list[str]:
        """The columns to select: the serializer's, less the computed ones (extend to select
        what `complete_rows` needs)."""
        plan = values_plan(self.get_serializer_class())  # type: ignore[attr-defined]
        return [col.column for col in plan if col.column not in self.computed_columns]

    def get_queryset(self) -> models.QuerySet[Any]:
        """For `list`, the queryset already reading the `.values()` columns, built once per
        view class and copied per request (setting up the joins of `.values()` took ~5 % of
        a list request). Tenant scoping and the filters apply to it as to the model's."""
        if getattr(self, "action", None) != "list":
            return super().get_queryset()  # type: ignore[misc]
        key = (type(self), tuple(self.values_columns()))
        base = _values_bases.get(key)
        if base is None:
            base = super().get_queryset().values(*key[1])  # type: ignore[misc]
            _values_bases[key] = base
        return base.all()

    def complete_rows(self, rows: list[dict[str, Any]]) -> None:
        """Add the `computed_columns` to `rows` (in place)."""

    def represent_rows(
        self, rows: Iterable[dict[str, Any]], *, complete: bool = True
    ) -> list[dict[str, Any]]:
        """`rows` as the serializer shows them, their computed columns added first unless they
        hold them (`complete=False`)."""
        rows = list(rows)
        if self.computed_columns and complete:
            self.complete_rows(rows)
        return represent_rows(self.get_serializer_class(), rows)  # type: ignore[attr-defined]

    def represent(self, pk: Any) -> dict[str, Any]:
        """One object (of the caller's queryset: tenant-scoped) as its list row."""
        queryset = self.get_queryset().filter(pk=pk)
        return self.represent_rows([queryset.values(*self.values_columns()).get()])[0]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        queryset = view.filter_queryset(view.get_queryset())
        columns = tuple(self.values_columns())
        rows = queryset if queryset.query.values_select == columns else queryset.values(*columns)
        paginator = view.paginator
        if paginator is None:
            return Response(self.represent_rows(rows))
        if not isinstance(paginator, PageNumberPagination):
            raise ImproperlyConfigured(f"{type(self).__name__}: use core's PageNumberPagination")
        lateral = self.page_lateral
        page = paginator.paginate_fetched(
            lambda offset, limit: fetch_page(queryset, rows, offset, limit, lateral), request, view
        )
        if page is None:
            return Response(self.represent_rows(rows))
        response: Response = view.get_paginated_response(
            self.represent_rows(page, complete=lateral is None)
        )
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        return Response(self.represent(instance.pk))


# --- Filtering by the parameters a request names ---


class RequestedFiltersBackend(FilterBackend):
    """DjangoFilterBackend that validates and applies only the filters the request names.

    django-filter builds a form with a field per filter on every request (deep copies of every
    filter and field, ~2 ms of a list request here), although a filter whose parameter is
    absent does nothing. This backend gives the FilterSet class a subclass holding only the
    filters named in the query string (a parameter `name` or `name_<suffix>`, for widgets with
    several inputs) and the required ones: the same validation, errors and results. Filters
    must do nothing when their parameter is absent (django-filter's own filters do). The
    browsable API's filter form still shows every filter.
    """

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        subset = _requested_filters(filterset_class, tuple(request.query_params))
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        filterset = subset(**kwargs)
        if not filterset.is_valid() and self.raise_exception:
            raise _filter_errors(filterset)
        return filterset.qs


def _filter_errors(filterset: FilterSet) -> ValidationError:
    """django-filter's errors as DRF's, a choice filter's naming the valid choices like every
    choice field of the API (core.choices)."""
    form = filterset.form
    detail: dict[str, list[ErrorDetail]] = {}
    for name, errors in form.errors.as_data().items():
        messages: list[ErrorDetail] = []
        for error in errors:
            field = form.fields.get(name)
            if error.code == "invalid_choice" and field is not None:
                choices = [value for value, _ in getattr(field, "choices", ()) if value != ""]
                text = invalid_choice_message((error.params or {}).get("value"), choices)
                messages.append(ErrorDetail(text, code="invalid"))
            else:
                messages.extend(ErrorDetail(m, code=error.code) for m in error.messages)
        detail[name] = messages
    return ValidationError(detail)


_subsets: dict[tuple[type[FilterSet], frozenset[str]], type[FilterSet]] = {}


def _requested_filters(filterset_class: type[FilterSet], keys: tuple[str, ...]) -> type[FilterSet]:
    names = frozenset(
        name
        for name, filter_ in filterset_class.base_filters.items()
        if filter_.extra.get("required")
        or any(key == name or key.startswith(f"{name}_") for key in keys)
    )
    cached = _subsets.get((filterset_class, names))
    if cached is None:  # at most one subclass per combination of the class's filter names
        base_filters = {
            name: filter_ for name, filter_ in filterset_class.base_filters.items() if name in names
        }
        cached = type(filterset_class.__name__, (filterset_class,), {})
        cached.base_filters = base_filters  # after the metaclass, which sets every filter
        if filterset_class.get_form_class is BaseFilterSet.get_form_class and not any(
            isinstance(filter_, QuerySetRequestMixin) for filter_ in base_filters.values()
        ):
            cached.get_form_class = _form_class_once
        _subsets[(filterset_class, names)] = cached
    return cached


def _form_class_once(self: FilterSet) -> type[Any]:
    """The filter set's form class, built once per class: django-filter builds a new class
    (fields and metaclasses) for every request, ~4 % of a list request here. Only for filters
    whose form fields do not depend on the request (not a model choice filter's queryset);
    each form still gets its own copies of the fields (Django copies them per form)."""
    cls = type(self)
    form_class: type[Any] | None = cls.__dict__.get("_form_class")
    if form_class is None:
        form_class = BaseFilterSet.get_form_class(self)
        cls._form_class = form_class
    return form_class


FILTER_BACKENDS = [RequestedFiltersBackend, SearchFilter, OrderingFilter]
