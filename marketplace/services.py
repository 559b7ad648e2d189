"""Writes to inventory: sites, racks, servers, card models and cards with their rules (each
audited), and the all-or-nothing CSV import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from core import clock
from core.actors import Actor
from core.audit import audit_record, audited_create, audited_delete, audited_update, snapshot
from core.exceptions import InvalidInput, InvalidState
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Card, CardModel, Rack, Server, Site

# --- Sites, racks, servers and card models ---


def site_create(*, actor: Actor, **fields: Any) -> Site:
    return audited_create(actor=actor, model=Site, action="site.create", fields=fields)


def site_update(*, actor: Actor, site: Site, **changes: Any) -> Site:
    return audited_update(actor=actor, instance=site, action="site.update", changes=changes)


def site_delete(*, actor: Actor, site: Site) -> None:
    audited_delete(actor=actor, instance=site, action="site.delete")


def rack_create(*, actor: Actor, **fields: Any) -> Rack:
    return audited_create(actor=actor, model=Rack, action="rack.create", fields=fields)


def rack_update(*, actor: Actor, rack: Rack, **changes: Any) -> Rack:
    """Change a rack. A decommissioned rack stays decommissioned."""
    status = changes.get("status", rack.status)
    if rack.status == RackStatus.DECOMMISSIONED and status != rack.status:
        raise InvalidInput(
            "A decommissioned rack stays decommissioned.",
            fields={"status": ["A decommissioned rack stays decommissioned."]},
        )
    return audited_update(actor=actor, instance=rack, action="rack.update", changes=changes)


def rack_delete(*, actor: Actor, rack: Rack) -> None:
    audited_delete(actor=actor, instance=rack, action="rack.delete")


def _check_rack_takes_servers(rack: Rack) -> None:
    if rack.status == RackStatus.DECOMMISSIONED:
        raise InvalidInput(
            "The rack is decommissioned: it takes no servers.",
            fields={"rack": ["The rack is decommissioned."]},
        )


def server_create(*, actor: Actor, **fields: Any) -> Server:
    """Add a server; a decommissioned rack takes none."""
    _check_rack_takes_servers(fields["rack"])
    return audited_create(actor=actor, model=Server, action="server.create", fields=fields)


def server_update(*, actor: Actor, server: Server, **changes: Any) -> Server:
    """Change a server; it moves into no decommissioned rack."""
    if "rack" in changes:
        _check_rack_takes_servers(changes["rack"])
    return audited_update(actor=actor, instance=server, action="server.update", changes=changes)


def server_delete(*, actor: Actor, server: Server) -> None:
    audited_delete(actor=actor, instance=server, action="server.delete")


def card_model_create(*, actor: Actor, **fields: Any) -> CardModel:
    return audited_create(actor=actor, model=CardModel, action="card_model.create", fields=fields)


def card_model_update(*, actor: Actor, card_model: CardModel, **changes: Any) -> CardModel:
    return audited_update(
        actor=actor, instance=card_model, action="card_model.update", changes=changes
    )


def card_model_delete(*, actor: Actor, card_model: CardModel) -> None:
    audited_delete(actor=actor, instance=card_model, action="card_model.delete")


# --- Cards ---

SITE_CODE = re.compile(r"[-a-zA-Z0-9_]+")  # as Site.code, a slug


def _check_server_accepts_cards(server: Server) -> None:
    if server.rack.status == RackStatus.DECOMMISSIONED:
        raise InvalidInput(
            "The server's rack is decommissioned: it takes no cards.",
            fields={"server": ["Rack is decommissioned."]},
        )


def _is_held(card: Card) -> bool:
    """Whether an allocation holds the card now or later (allocations belong to leasing)."""
    now = clock.now()
    return card.allocations.filter(Q(period__endswith__gt=now) | Q(period__upper_inf=True)).exists()


@transaction.atomic
def card_create(*, actor: Actor, **fields: Any) -> Card:
    server: Server = fields["server"]
    _check_server_accepts_cards(server)
    card = Card.objects.create(**fields)
    audit_record(actor=actor, action="card.create", instance=card, after=snapshot(card))
    return card


@transaction.atomic
def card_update(*, actor: Actor, card: Card, **changes: Any) -> Card:
    """Change a card. A retired card never comes back; no card moves into a decommissioned rack."""
    card = Card.objects.select_for_update().select_related("server__rack").get(pk=card.pk)
    before = snapshot(card)
    if (
        card.status == CardStatus.RETIRED
        and changes.get("status", card.status) != CardStatus.RETIRED
    ):
        raise InvalidState("A retired card never comes back into service.")
    new_status = changes.get("status", card.status)
    if new_status != card.status and new_status != CardStatus.AVAILABLE and _is_held(card):
        raise InvalidState(
            "The card is held by a lease now or later: put it into maintenance with "
            f"POST /api/v1/cards/{card.pk}/maintenance/, which swaps in a replacement."
        )
    if "server" in changes and changes["server"].pk != card.server_id:
        _check_server_accepts_cards(changes["server"])
    for name, value in changes.items():
        setattr(card, name, value)
    card.save()
    audit_record(
        actor=actor, action="card.update", instance=card, before=before, after=snapshot(card)
    )
    return card


def card_delete(*, actor: Actor, card: Card) -> None:
    audited_delete(actor=actor, instance=card, action="card.delete")


# --- CSV import ---

IMPORT_COLUMNS = (
    "site",
    "rack",
    "server",
    "position",
    "card_model",
    "serial",
    "capex_cost",
    "commissioned_on",
)
OPTIONAL_COLUMNS = ("status",)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass
class ImportRow:
    row: int
    site: str
    rack: str
    server: str
    position: int
    card_model: CardModel
    serial: str
    capex_cost: Decimal
    commissioned_on: dt.date
    status: str


@dataclass
class ImportResult:
    rows: int
    sites_created: int = 0
    racks_created: int = 0
    servers_created: int = 0
    cards_created: int = 0
    cards_unchanged: int = 0
    created_serials: list[str] = field(default_factory=list)


def _decode(content: bytes) -> str:
    if len(content) > settings.INVENTORY_IMPORT_MAX_BYTES:
        raise InvalidInput(
            f"The file is larger than {settings.INVENTORY_IMPORT_MAX_BYTES} bytes.",
            code="file_too_large",
        )
    if not content.strip():
        raise InvalidInput("The file is empty.", code="empty_file")
    if b"\x00" in content:
        raise InvalidInput("The file is not UTF-8 text (it holds NUL bytes).", code="bad_encoding")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The file is not UTF-8 text (byte {exc.start}).", code="bad_encoding"
        ) from exc


def _read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
        records = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"The file is not valid CSV: {exc}.", code="bad_csv") from exc
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    unknown = [c for c in header if c not in IMPORT_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing))
        if unknown:
            problems.append("unknown " + ", ".join(unknown))
        if len(set(header)) != len(header):
            problems.append("repeated columns")
        raise InvalidInput(
            "Wrong header: " + "; ".join(problems) + ". Expected: " + ",".join(IMPORT_COLUMNS),
            code="bad_header",
        )
    rows = []
    for index, record in enumerate(records, start=2):  # row 1 is the header
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            rows.append((index, {"__width__": str(len(record))}))
            continue
        rows.append((index, {col: cell.strip() for col, cell in zip(header, record, strict=True)}))
    if not rows:
        raise InvalidInput("The file has a header but no rows.", code="empty_file")
    return header, rows


def _parse_row(
    number: int, raw: dict[str, str], models_by_name: dict[str, CardModel], errors: list[RowError]
) -> ImportRow | None:
    if "__width__" in raw:
        errors.append(
            RowError(number, "*", f"expected {len(IMPORT_COLUMNS)}+ cells, got {raw['__width__']}")
        )
        return None
    before = len(errors)

    def text(name: str, limit: int) -> str:
        value = raw.get(name, "")
        if not value:
            errors.append(RowError(number, name, "required"))
        elif len(value) > limit:
            errors.append(RowError(number, name, f"longer than {limit} characters"))
        return value

    site, rack, server = text("site", 32), text("rack", 64), text("server", 64)
    if site and not SITE_CODE.fullmatch(site):
        errors.append(RowError(number, "site", "a site code is letters, digits, - and _"))
    serial = text("serial", 64)
    position = 0
    try:
        position = int(raw.get("position", ""))
        if not 1 <= position <= 32767:
            raise ValueError
    except ValueError:
        errors.append(RowError(number, "position", "must be a whole number from 1 to 32767"))
    card_model = models_by_name.get(raw.get("card_model", ""))
    if card_model is None:
        errors.append(
            RowError(number, "card_model", f"unknown card model {raw.get('card_model')!r}")
        )
    capex = Decimal(0)
    try:
        capex = Decimal(raw.get("capex_cost", ""))
        if not capex.is_finite() or capex < 0 or capex != capex.quantize(Decimal("0.01")):
            raise InvalidOperation
        if capex >= Decimal("1e12"):
            raise InvalidOperation
    except InvalidOperation:
        errors.append(
            RowError(number, "capex_cost", "must be a non-negative amount with at most 2 decimals")
        )
    commissioned = dt.date.min
    try:
        commissioned = dt.date.fromisoformat(raw.get("commissioned_on", ""))
    except ValueError:
        errors.append(RowError(number, "commissioned_on", "must be a date YYYY-MM-DD"))
    status = raw.get("status") or CardStatus.AVAILABLE
    if status not in CardStatus.values:
        errors.append(RowError(number, "status", f"must be one of {', '.join(CardStatus.values)}"))
    if len(errors) > before or card_model is None:
        return None
    return ImportRow(
        number, site, rack, server, position, card_model, serial, capex, commissioned, status
    )


@transaction.atomic
def inventory_import(*, actor: Actor, content: bytes) -> ImportResult:
    """Import cards from CSV, creating missing sites, racks and servers. All or nothing.

    Every bad row is reported (row number, field, reason) and then nothing is written.
    Importing the same file twice changes nothing: a serial already present at the same place
    with the same attributes is left alone.
    """
    rows, errors = _import_rows_parse(content)
    errors += _import_file_conflicts(rows)
    _import_lock()
    existing = _ImportExisting.load(rows)
    to_create, unchanged, conflicts = _import_rows_against(rows, existing)
    _import_refuse(errors + conflicts)
    result = ImportResult(rows=len(rows), cards_unchanged=unchanged)
    _import_write(to_create, existing, into=result)
    _import_audit(actor, result)
    return result


def _import_rows_parse(content: bytes) -> tuple[list[ImportRow], list[RowError]]:
    """The file's rows that parse, and the errors of those that do not."""
    _, raw_rows = _read_rows(_decode(content))
    models_by_name = {m.name: m for m in CardModel.objects.all()}
    errors: list[RowError] = []
    rows = [r for n, raw in raw_rows if (r := _parse_row(n, raw, models_by_name, errors))]
    return rows, errors


def _import_file_conflicts(rows: list[ImportRow]) -> list[RowError]:
    """Within the file: one serial once; one server at one position; one position, one server."""
    errors: list[RowError] = []
    seen_serial: dict[str, int] = {}
    server_position: dict[tuple[str, str, str], int] = {}
    position_server: dict[tuple[str, str, int], str] = {}
    for r in rows:
        if r.serial in seen_serial:
            errors.append(RowError(r.row, "serial", f"repeats row {seen_serial[r.serial]}"))
        seen_serial.setdefault(r.serial, r.row)
        key = (r.site, r.rack, r.server)
        if server_position.setdefault(key, r.position) != r.position:
            errors.append(
                RowError(
                    r.row,
                    "position",
                    f"server {r.server} is at position {server_position[key]} in an earlier row",
                )
            )
        pkey = (r.site, r.rack, r.position)
        if position_server.setdefault(pkey, r.server) != r.server:
            errors.append(
                RowError(
                    r.row,
                    "position",
                    f"position {r.position} holds server {position_server[pkey]} in an earlier row",
                )
            )
    return errors


def _import_lock() -> None:
    """Imports run one at a time (until the import's transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('marketplace.inventory_import'))")


@dataclass
class _ImportExisting:
    """What the database already holds at the file's places, keyed as the file names them."""

    sites: dict[str, Site]
    racks: dict[tuple[str, str], Rack]
    servers: dict[tuple[str, str, str], Server]
    positions: dict[tuple[str, str, int], Server]
    cards: dict[str, Card]

    @classmethod
    def load(cls, rows: list[ImportRow]) -> _ImportExisting:
        """A few set-based reads."""
        sites = {s.code: s for s in Site.objects.filter(code__in={r.site for r in rows})}
        racks = {
            (rk.site.code, rk.name): rk
            for rk in Rack.objects.select_related("site").filter(site__in=sites.values())
        }
        servers: dict[tuple[str, str, str], Server] = {}
        positions: dict[tuple[str, str, int], Server] = {}
        for sv in Server.objects.select_related("rack__site").filter(rack__in=racks.values()):
            servers[(sv.rack.site.code, sv.rack.name, sv.name)] = sv
            positions[(sv.rack.site.code, sv.rack.name, sv.position)] = sv
        serials = {r.serial for r in rows}
        cards = {
            c.serial: c
            for c in Card.objects.select_related("server__rack__site").filter(serial__in=serials)
        }
        return cls(sites, racks, servers, positions, cards)


def _import_rows_against(
    rows: list[ImportRow], existing: _ImportExisting
) -> tuple[list[ImportRow], int, list[RowError]]:
    """Against the database: the rows to create, how many are already there unchanged, and the
    rows that clash with what is there."""
    errors: list[RowError] = []
    to_create: list[ImportRow] = []
    unchanged = 0
    for r in rows:
        rack = existing.racks.get((r.site, r.rack))
        if rack is not None and rack.status == RackStatus.DECOMMISSIONED:
            errors.append(RowError(r.row, "rack", f"rack {r.rack} is decommissioned"))
        known = existing.servers.get((r.site, r.rack, r.server))
        if known is not None and known.position != r.position:
            errors.append(
                RowError(r.row, "position", f"server {r.server} is at position {known.position}")
            )
        other = existing.positions.get((r.site, r.rack, r.position))
        if other is not None and other.name != r.server:
            errors.append(
                RowError(
                    r.row, "position", f"position {r.position} is taken by server {other.name}"
                )
            )
        card = existing.cards.get(r.serial)
        if card is None:
            to_create.append(r)
        elif _import_card_matches(card, r):
            unchanged += 1
        else:
            errors.append(
                RowError(r.row, "serial", f"serial {r.serial} exists with other attributes")
            )
    return to_create, unchanged, errors


def _import_card_matches(card: Card, r: ImportRow) -> bool:
    """The card already sits where the row puts it, with the row's attributes."""
    return (
        card.server.rack.site.code,
        card.server.rack.name,
        card.server.name,
        card.card_model_id,
        card.capex_cost,
        card.commissioned_on,
    ) == (r.site, r.rack, r.server, r.card_model.pk, r.capex_cost, r.commissioned_on)


def _import_refuse(errors: list[RowError]) -> None:
    """Refuse the whole file when any row has an error, listing every error by row and field."""
    if not errors:
        return
    errors.sort(key=lambda e: (e.row, e.field))
    raise InvalidInput(
        f"{len({e.row for e in errors})} row(s) have errors; nothing was imported.",
        code="invalid_rows",
        extra={"errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors]},
    )


def _import_write(
    to_create: list[ImportRow], existing: _ImportExisting, *, into: ImportResult
) -> None:
    """Create the missing sites, racks and servers, then the new cards, in bulk; count them
    `into` the result."""
    sites, racks, servers = existing.sites, existing.racks, existing.servers
    result = into
    new_sites = [
        Site(code=code, name=code) for code in sorted({r.site for r in to_create} - set(sites))
    ]
    for site in Site.objects.bulk_create(new_sites):
        sites[site.code] = site
    result.sites_created = len(new_sites)
    new_racks = {
        (r.site, r.rack): Rack(site=sites[r.site], name=r.rack, status=RackStatus.RACKED)
        for r in to_create
        if (r.site, r.rack) not in racks
    }
    racks.update(zip(new_racks, Rack.objects.bulk_create(new_racks.values()), strict=True))
    result.racks_created = len(new_racks)
    new_servers = {
        (r.site, r.rack, r.server): Server(
            rack=racks[(r.site, r.rack)], name=r.server, position=r.position
        )
        for r in to_create
        if (r.site, r.rack, r.server) not in servers
    }
    servers.update(zip(new_servers, Server.objects.bulk_create(new_servers.values()), strict=True))
    result.servers_created = len(new_servers)
    Card.objects.bulk_create(
        Card(
            server=servers[(r.site, r.rack, r.server)],
            card_model=r.card_model,
            serial=r.serial,
            status=r.status,
            capex_cost=r.capex_cost,
            commissioned_on=r.commissioned_on,
        )
        for r in to_create
    )
    result.cards_created = len(to_create)
    result.created_serials = [r.serial for r in to_create]


def _import_audit(actor: Actor, result: ImportResult) -> None:
    audit_record(
        actor=actor,
        action="inventory.import",
        object_type="marketplace.Card",
        after={
            "rows": result.rows,
            "sites_created": result.sites_created,
            "racks_created": result.racks_created,
            "servers_created": result.servers_created,
            "cards_created": result.cards_created,
            "cards_unchanged": result.cards_unchanged,
            "serials": result.created_serials,
        },
    )
