"""The one CSV writer: text cells never start a formula; numbers stay numbers."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from core.downloads import csv_cell, csv_text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Smith & Sons", "Smith & Sons"),
        ("a=b", "a=b"),
        ("", ""),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-3, -3),
        (None, ""),
        (dt.date(2027, 3, 1), dt.date(2027, 3, 1)),
    ],
)
def test_a_cell_is_neutralised_only_when_it_is_text_that_starts_a_formula(value, written):
    assert csv_cell(value) == written


def test_csv_text_writes_every_cell_through_the_neutraliser():
    text = csv_text(["name", "amount"], [["=cmd", Decimal("-5.00")], ["ok", "-1.5"]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "amount"], ["'=cmd", "-5.00"], ["ok", "-1.5"]
    ]  # fmt: skip
