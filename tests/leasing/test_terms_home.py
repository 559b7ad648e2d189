"""Lease rules live in leasing: marketplace defines none of them and imports no leasing module at
load time; the availability selector takes a validated window and never refuses one."""

import ast
import datetime as dt
import importlib
import pkgutil
from pathlib import Path

import pytest

import marketplace
from leasing import terms
from leasing.selectors import availability_find
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards

LEASE_RULES = {
    "LeaseKind",
    "LONG_TERMS",
    "LONG_MAX_ADVANCE_MONTHS",
    "SHORT_MAX_ADVANCE",
    "SHORT_MAX_DURATION",
    "short_lease_window",
    "long_lease_first_day",
    "lease_window",
    "long_lease_discount",
    "long_lease_monthly_fee",
    "Quote",
    "quote_long",
    "quote_short",
    "availability_find",
    "Availability",
}


def _marketplace_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(marketplace.__path__, prefix="marketplace.")
        if ".migrations" not in info.name and ".management" not in info.name
    ]


def test_leasing_terms_holds_the_lease_rules() -> None:
    defined = LEASE_RULES - {"availability_find", "Availability", "LeaseKind"}
    assert defined <= set(vars(terms))


@pytest.mark.parametrize("name", _marketplace_modules())
def test_marketplace_defines_no_lease_rule(name: str) -> None:
    module = importlib.import_module(name)
    source = Path(module.__file__ or "").read_text()
    tree = ast.parse(source)
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert not defined & LEASE_RULES, name
    imported = {node.module or "" for node in tree.body if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names
    }
    assert not any(m == "leasing" or m.startswith("leasing.") for m in imported), name


@pytest.mark.django_db
def test_the_availability_selector_takes_the_window_it_is_given() -> None:
    """Validation is the edge's job: a window the lease rules would refuse (in the past, longer
    than 90 days) is still looked up, not refused, by the selector."""
    model = CardModelFactory()
    make_server_with_cards(RackFactory(), model)
    start = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=400)
    result = availability_find(card_model=model, count=2, kind="short", start=start, end=end)
    assert result.available is True
    assert (result.start, result.end) == (start, end)
