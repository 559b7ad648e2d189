"""Every console page, as each demo user finds it: the demo data (`seed_demo`, as `make run`
loads it), a login, then a walk along every console link the pages offer (the navigation, then
links inside pages: a site's heat map, an invoice, …), a few of each kind of page.

Each page must answer 200 (a link to a page that refuses its own reader is a defect), raise no
browser error, label every form field, fit a laptop screen (no horizontal scrolling at 1366 px) and
have a heading. In Chinese, the page's own words (headings, column heads, labels, buttons) are
Chinese: an English one is a string left out of translation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from accounts.demo_logins import DEMO_PASSWORD
from accounts.models import Tenant
from marketplace.models import CardModel, Rack, Site
from tests.browser.conftest import Console

MAX_PAGES = 40  # per walk
PER_KIND = 2  # pages of one URL name (two invoices, two sites, …)
NOT_PAGES = re.compile(r"^/console/(logout|language)/|\.csv$|/pdf/?$|[?&]format=csv")

# Form fields and their labels: every visible field has one (a <label for>, a wrapping label or
# aria-label / aria-labelledby).
UNLABELLED_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""
LINKS_JS = "() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
WORDS_JS = """
() => [...document.querySelectorAll('main h1, main h2, main thead th, main label, main button,'
                                    + ' nav.mainnav a')]
  .filter(el => el.offsetParent !== null)
  .map(el => el.innerText.trim()).filter(text => text)
"""
CJK = re.compile(r"[\u4e00-\u9fff]")
# Words that stay as they are in Chinese: figures, codes and abbreviations (PFLOPS, CSV, PDF, …).
NO_WORDS = re.compile(r"^[A-Z0-9\s%/.,:;()¥+\-–#×]*$")


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("seed_demo", verbosity=0)


def _kind(path: str) -> str | None:
    """A console page's URL name (None: not a console page to walk to)."""
    if not path.startswith("/console/") or NOT_PAGES.search(path):
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return "unknown"  # walked, so that the 404 it answers fails the test
    return match.view_name


def walk(console: Console) -> Iterator[str]:
    """Visit the console's pages reachable from the current one; yield each path once visited."""
    page = console.page
    start = urlsplit(page.url)
    queue = [f"{start.path}?{start.query}" if start.query else start.path]
    seen: set[str] = set(queue)
    kinds: Counter[str] = Counter()
    while queue and len(seen) <= MAX_PAGES:
        path = queue.pop(0)
        console.goto(path)
        yield path
        for href in page.evaluate(LINKS_JS):
            parts = urlsplit(href)
            if parts.netloc and parts.netloc != start.netloc:
                continue
            target = f"{parts.path}?{parts.query}" if parts.query else parts.path
            kind = _kind(target)
            if kind is None or target in seen or kinds[kind] >= PER_KIND:
                continue
            kinds[kind] += 1
            seen.add(target)
            queue.append(target)


def check_page(console: Console, path: str) -> None:
    page = console.page
    assert page.evaluate(UNLABELLED_JS) == [], f"{path}: form fields without a label"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path}: {overflow}px wider than a 1366px screen"
    assert page.locator("main h1").count() >= 1, f"{path}: no heading"


def _names() -> set[str]:
    """What the demo calls things (sites, racks, models, tenants): the same in every language."""
    names = set(Site.objects.values_list("name", flat=True))
    names |= set(Rack.objects.values_list("name", flat=True))
    for vendor, model in CardModel.objects.values_list("vendor", "name"):
        names |= {model, f"{vendor} {model}"}
    names |= set(Tenant.objects.values_list("name", flat=True))
    return names


@pytest.mark.parametrize("username", ["tenant1", "operator", "finance", "admin"])
def test_every_page_a_demo_user_reaches_works(console: Console, demo: None, username: str) -> None:
    console.login(username, DEMO_PASSWORD)
    visited = []
    for path in walk(console):
        check_page(console, path)
        visited.append(path)
    # the walk reached every page of the role's navigation
    nav = console.page.eval_on_selector_all("nav.mainnav a", "els => els.map(a => a.pathname)")
    assert set(nav) <= {urlsplit(path).path for path in visited}


@pytest.mark.parametrize("username", ["tenant1", "admin"])
def test_every_page_speaks_chinese(console: Console, demo: None, username: str) -> None:
    console.login(username, DEMO_PASSWORD)
    console.submit("form.lang button[value=zh-hans]")
    names = _names()
    english: dict[str, list[str]] = {}
    for path in walk(console):
        words: list[Any] = console.page.evaluate(WORDS_JS)
        left = [
            word
            for word in words
            if not CJK.search(word) and not NO_WORDS.match(word) and word not in names
        ]
        if left:
            english[path] = left
    assert english == {}, "English words on Chinese pages"
