"""The role matrix: what every actor gets on every route and method the site serves.

`MATRIX` states, for each (route, method) of the URL conf, the outcome for tenant A, tenant B
(acting on A's objects: path parameters are A's, and bodies name A's objects), an operator,
finance, an admin and an anonymous caller. The routes are walked from the URL conf (router
routes and their `@action`s, the admin's, everything in config/urls.py) with the methods their
views handle, so a new route or method fails `test_every_route_is_classified` until it is added
here, and an entry for a route that is gone fails it too.

Each (route, method, actor) is requested for real, against one set of objects built once for the
module (tests/core/matrix_world.py), each request in a savepoint rolled back after it. A refused
request (401, 403, 404, 405 and the admin's redirect to its login) must also have written
nothing, by PostgreSQL's own per-transaction row counters. Lists are checked for other tenants'
rows (every page, CSV exports too), and an `Idempotency-Key` replayed by another tenant must not
replay the first tenant's answer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils.http import urlencode
from rest_framework.test import APIClient

from accounts.models import Tenant
from billing.models import Metric
from core import clock
from tests.core.matrix_world import ACTORS, NOW, World, build_world
from tests.core.role_matrix import OK, Route, matches, served_routes, writes_so_far
from tests.factories import api_key
from tests.timing import at

# --- The matrix ----------------------------------------------------------------------------------
#
# One line per (route, method): the outcomes of tenant A, tenant B, operator, finance, admin,
# anonymous, in that order. `ok` is any 2xx; a number is that status exactly.

_A, _B, _OP, _FIN, _ADM, _ANON = ACTORS
REFUSED = {401, 403, 404, 405}  # and the admin's 302 to its login page, see _refused

MATRIX_SITE: dict[tuple[str, str], str] = {
    # route, method: tenant A, tenant B (on A's objects), operator, finance, admin, anonymous
    ("", "GET"): "302 302 302 302 302 302",  # the site's root: to the API docs
    ("", "POST"): "302 302 302 302 302 302",
    ("", "PUT"): "302 302 302 302 302 302",
    ("", "PATCH"): "302 302 302 302 302 302",
    ("", "DELETE"): "302 302 302 302 302 302",
    ("healthz", "GET"): "200 200 200 200 200 200",
    ("healthz", "POST"): "200 200 200 200 200 200",
    ("healthz/", "GET"): "200 200 200 200 200 200",
    ("healthz/", "POST"): "200 200 200 200 200 200",
    ("api/v1/", "GET"): "200 200 200 200 200 200",  # links only
    ("api/v1/test-clock/", "GET"): "403 403 403 403 200 401",
    ("api/v1/test-clock/", "POST"): "403 403 403 403 200 401",
    ("api/v1/me/", "GET"): "200 200 200 200 200 401",
    # a password for a token: open to anyone (credentials in the body; A's user's are sent)
    ("api/v1/auth/token/", "POST"): "201 201 201 201 201 201",
    ("api/v1/auth/logout/", "POST"): "204 204 204 204 204 401",  # the caller's own token
    ("api/v1/auth/logout-all/", "POST"): "200 200 200 200 200 401",
    ("api/v1/tenants/", "GET"): "200 200 200 200 200 401",
    ("api/v1/tenants/", "POST"): "403 403 201 201 201 401",
    ("api/v1/tenants/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/tenants/{pk}/", "PUT"): "403 404 200 200 200 401",
    ("api/v1/tenants/{pk}/", "PATCH"): "403 404 200 200 200 401",
    ("api/v1/availability/", "GET"): "200 200 200 200 200 401",
    ("api/v1/cards/{pk}/maintenance/", "POST"): "403 403 200 403 200 401",
    ("api/v1/leases/", "GET"): "200 200 200 200 200 401",
    ("api/v1/leases/", "POST"): "201 400 201 403 201 401",  # B names A as the tenant: 400
    ("api/v1/leases/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/leases/{pk}/cancel/", "POST"): "200 404 200 200 200 401",
    ("api/v1/leases/{pk}/events/", "GET"): "200 404 200 200 200 401",
    ("api/v1/leases/{pk}/renew/", "POST"): "201 404 201 403 201 401",
    ("api/v1/leases/{pk}/stop/", "POST"): "200 404 200 403 200 401",
    ("api/v1/leases/{pk}/terminate/", "POST"): "200 404 200 403 200 401",
    # events and webhooks (events/): a tenant its own, staff all; B creates its own endpoint;
    # staff endpoints (every tenant's events) are the admin's; A's secret is rotated by A only
    ("api/v1/events/", "GET"): "200 200 200 200 200 401",
    ("api/v1/events/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/webhook-endpoints/", "GET"): "200 200 200 200 200 401",
    ("api/v1/webhook-endpoints/", "POST"): "201 201 403 403 201 401",
    ("api/v1/webhook-endpoints/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/webhook-endpoints/{pk}/", "PATCH"): "200 404 403 403 200 401",
    ("api/v1/webhook-endpoints/{pk}/rotate-secret/", "POST"): "200 404 403 403 403 401",
    ("api/v1/webhook-endpoints/{pk}/deliveries/", "GET"): "200 404 200 200 200 401",
    ("api/v1/webhook-endpoints/{pk}/deliveries/{delivery_id}/retry/", "POST"): (
        "200 404 403 403 200 401"
    ),
    ("api/v1/metrics/", "GET"): "200 200 200 200 200 401",
    ("api/v1/metrics/{pk}/", "GET"): "200 200 200 200 200 401",
    ("api/v1/metrics/{pk}/", "PATCH"): "403 403 403 200 200 401",
    ("api/v1/usage-records/", "GET"): "200 200 200 200 200 401",
    ("api/v1/usage-records/", "POST"): "201 400 201 403 201 401",  # B posts for A's lease: 400
    ("api/v1/usage-records/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/voucher-programs/", "GET"): "200 200 200 200 200 401",
    ("api/v1/voucher-programs/", "POST"): "403 403 403 201 201 401",
    ("api/v1/voucher-programs/{pk}/", "GET"): "200 200 200 200 200 401",
    ("api/v1/voucher-programs/{pk}/", "PATCH"): "403 403 403 200 200 401",
    ("api/v1/voucher-programs/{pk}/close/", "POST"): "403 403 403 200 200 401",
    ("api/v1/voucher-programs/{pk}/claims/", "GET"): "403 403 403 200 200 401",
    ("api/v1/voucher-programs/{pk}/claims/", "POST"): "403 403 403 200 200 401",
    ("api/v1/voucher-grants/", "GET"): "200 200 200 200 200 401",
    ("api/v1/voucher-grants/", "POST"): "403 403 403 201 201 401",
    ("api/v1/voucher-grants/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/voucher-grants/{pk}/revoke/", "POST"): "403 404 403 200 200 401",  # B: A's grant
    ("api/v1/invoice-runs/", "GET"): "403 403 403 200 200 401",
    ("api/v1/invoice-runs/", "POST"): "403 403 403 201 201 401",
    ("api/v1/invoice-runs/{pk}/", "GET"): "403 403 403 200 200 401",
    ("api/v1/invoices/", "GET"): "200 200 200 200 200 401",
    ("api/v1/invoices/export/", "GET"): "403 403 200 200 200 401",
    ("api/v1/invoices/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/invoices/{pk}/issue/", "POST"): "403 404 403 200 200 401",
    ("api/v1/invoices/{pk}/pay/", "POST"): "403 404 403 200 200 401",
    ("api/v1/invoices/{pk}/pdf/", "GET"): "200 404 200 200 200 401",
    ("api/v1/invoices/{pk}/void/", "POST"): "403 404 403 200 200 401",
    ("api/v1/credit-notes/", "GET"): "200 200 200 200 200 401",
    ("api/v1/credit-notes/", "POST"): "403 403 403 201 201 401",
    ("api/v1/credit-notes/{pk}/", "GET"): "200 404 200 200 200 401",
    # Invoicing in China: billing profiles (admin has no tenant of its own: 404), fapiao
    ("api/v1/me/billing-profile/", "GET"): "200 200 403 403 404 401",
    ("api/v1/me/billing-profile/", "PUT"): "200 200 403 403 404 401",
    ("api/v1/me/billing-profile/", "PATCH"): "200 200 403 403 404 401",
    ("api/v1/tenants/{tenant_id}/billing-profile/", "GET"): "403 403 403 200 200 401",
    ("api/v1/tenants/{tenant_id}/billing-profile/", "PUT"): "403 403 403 200 200 401",
    ("api/v1/tenants/{tenant_id}/billing-profile/", "PATCH"): "403 403 403 200 200 401",
    # Spend limits: the tenant's own budget; staff read any, finance sets any
    ("api/v1/me/budget/", "GET"): "200 200 403 403 404 401",
    ("api/v1/me/budget/", "PUT"): "200 200 403 403 404 401",
    ("api/v1/me/budget/", "PATCH"): "200 200 403 403 404 401",
    ("api/v1/tenants/{tenant_id}/budget/", "GET"): "403 403 200 200 200 401",
    ("api/v1/tenants/{tenant_id}/budget/", "PUT"): "403 403 403 200 200 401",
    ("api/v1/tenants/{tenant_id}/budget/", "PATCH"): "403 403 403 200 200 401",
    ("api/v1/invoices/{pk}/fapiao/", "GET"): "200 404 200 200 200 401",
    ("api/v1/invoices/{pk}/fapiao/", "POST"): "403 404 403 200 200 401",
    ("api/v1/invoices/fapiao-export/", "GET"): "403 403 403 200 200 401",
    ("api/v1/credit-notes/{pk}/fapiao/", "GET"): "200 404 200 200 200 401",
    ("api/v1/credit-notes/{pk}/fapiao/", "POST"): "403 404 403 200 200 401",
    ("api/v1/credit-notes/{pk}/pdf/", "GET"): "200 404 200 200 200 401",
    ("api/v1/inventory/import/", "POST"): "403 403 201 403 201 401",
    ("api/v1/inventory/capacity/", "GET"): "403 403 200 200 200 401",
    ("api/v1/sites/", "GET"): "200 200 200 200 200 401",
    ("api/v1/sites/", "POST"): "403 403 201 403 201 401",
    ("api/v1/sites/{pk}/", "GET"): "200 200 200 200 200 401",
    ("api/v1/sites/{pk}/", "PUT"): "403 403 200 403 200 401",
    ("api/v1/sites/{pk}/", "PATCH"): "403 403 200 403 200 401",
    ("api/v1/sites/{pk}/", "DELETE"): "403 403 204 403 204 401",
    ("api/v1/racks/", "GET"): "403 403 200 200 200 401",
    ("api/v1/racks/", "POST"): "403 403 201 403 201 401",
    ("api/v1/racks/{pk}/", "GET"): "403 403 200 200 200 401",
    ("api/v1/racks/{pk}/", "PUT"): "403 403 200 403 200 401",
    ("api/v1/racks/{pk}/", "PATCH"): "403 403 200 403 200 401",
    ("api/v1/racks/{pk}/", "DELETE"): "403 403 204 403 204 401",
    ("api/v1/servers/", "GET"): "403 403 200 200 200 401",
    ("api/v1/servers/", "POST"): "403 403 201 403 201 401",
    ("api/v1/servers/{pk}/", "GET"): "403 403 200 200 200 401",
    ("api/v1/servers/{pk}/", "PUT"): "403 403 200 403 200 401",
    ("api/v1/servers/{pk}/", "PATCH"): "403 403 200 403 200 401",
    ("api/v1/servers/{pk}/", "DELETE"): "403 403 204 403 204 401",
    ("api/v1/card-models/", "GET"): "200 200 200 200 200 401",
    ("api/v1/card-models/", "POST"): "403 403 201 403 201 401",
    ("api/v1/card-models/{pk}/", "GET"): "200 200 200 200 200 401",
    ("api/v1/card-models/{pk}/", "PUT"): "403 403 200 403 200 401",
    ("api/v1/card-models/{pk}/", "PATCH"): "403 403 200 403 200 401",
    ("api/v1/card-models/{pk}/", "DELETE"): "403 403 204 403 204 401",
    ("api/v1/cards/", "GET"): "200 200 200 200 200 401",
    ("api/v1/cards/", "POST"): "403 403 201 403 201 401",
    ("api/v1/cards/{pk}/", "GET"): "200 404 200 200 200 401",
    ("api/v1/cards/{pk}/", "PUT"): "403 404 200 403 200 401",
    ("api/v1/cards/{pk}/", "PATCH"): "403 404 200 403 200 401",
    ("api/v1/cards/{pk}/", "DELETE"): "403 404 409 403 409 401",  # a leased card stays
    ("api/v1/reports/occupancy/", "GET"): "403 403 200 200 200 401",
    ("api/v1/reports/revenue/", "GET"): "403 403 200 200 200 401",
    ("api/v1/reports/recompute/", "POST"): "403 403 200 200 200 401",
    ("api/v1/reports/recompute/{pk}/", "GET"): "403 403 200 200 200 401",
    ("api/v1/business-cases/", "GET"): "403 403 200 200 200 401",
    ("api/v1/business-cases/", "POST"): "403 403 201 201 201 401",
    ("api/v1/business-cases/{pk}/", "GET"): "403 403 200 200 200 401",
    ("api/schema/", "GET"): "200 200 200 200 200 200",
    ("api/docs/", "GET"): "200 200 200 200 200 200",
    ("api-auth/login/", "GET"): "200 200 200 200 200 200",
    ("api-auth/login/", "POST"): "200 200 200 200 200 200",  # an empty form: errors
    ("api-auth/login/", "PUT"): "200 200 200 200 200 200",
    ("api-auth/logout/", "POST"): "200 200 200 200 200 200",
    # the admin's own pages (its models' pages: ADMIN_FAMILIES); only the admin role gets in
    ("admin/", "GET"): "302 302 302 302 200 302",
    ("admin/", "POST"): "302 302 302 302 200 302",
    ("admin/login/", "GET"): "200 200 200 200 302 200",
    ("admin/login/", "POST"): "200 200 200 200 200 200",
    ("admin/logout/", "GET"): "302 302 302 302 405 302",
    ("admin/logout/", "POST"): "302 302 302 302 200 302",
    ("admin/password_change/", "GET"): "302 302 302 302 200 302",
    ("admin/password_change/", "POST"): "302 302 302 302 200 302",
    ("admin/password_change/done/", "GET"): "302 302 302 302 200 302",
    ("admin/password_change/done/", "POST"): "302 302 302 302 405 302",
    ("admin/autocomplete/", "GET"): "302 302 302 302 403 302",
    ("admin/autocomplete/", "POST"): "302 302 302 302 405 302",
    ("admin/jsi18n/", "GET"): "302 302 302 302 200 302",
    ("admin/jsi18n/", "POST"): "302 302 302 302 405 302",
    ("admin/r/{content_type_id}/{object_id}/", "GET"): "302 302 302 302 404 302",
    ("admin/r/{content_type_id}/{object_id}/", "POST"): "302 302 302 302 404 302",
    ("admin/{app_label}/", "GET"): "302 302 302 302 200 302",
    ("admin/{app_label}/", "POST"): "302 302 302 302 200 302",
    ("admin/{url}", "GET"): "302 302 302 302 404 302",
    ("admin/{url}", "POST"): "302 302 302 302 404 302",
    # the web console (core/console.py): sessions; an anonymous caller is sent to its login
    ("console/", "GET"): "302 302 302 302 302 302",  # to the role's home, or the login page
    ("console/", "POST"): "302 302 302 302 302 302",
    ("console/login/", "GET"): "302 302 302 302 302 200",  # signed in: straight to the home
    ("console/login/", "POST"): "302 302 302 302 302 200",  # anonymous: an empty form, errors
    ("console/login/", "PUT"): "302 302 302 302 302 200",  # Django's form views take PUT too
    ("console/logout/", "POST"): "302 302 302 302 302 302",  # to console/ (then the login)
    ("console/language/", "GET"): "302 302 302 302 302 302",  # POST only: GET goes back
    ("console/language/", "POST"): "302 302 302 302 302 302",  # no language: back, unchanged
    ("console/tenant/", "GET"): "200 200 403 403 403 302",  # admin has no tenant
    ("console/tenant/", "POST"): "200 200 403 403 403 302",
    ("console/staff/", "GET"): "403 403 200 200 200 302",
    ("console/staff/", "POST"): "403 403 200 200 200 302",
    # the Leases page (leasing/console.py): tenant users only, each their own leases
    ("console/leases/", "GET"): "200 200 403 403 403 302",
    ("console/leases/", "POST"): "405 405 403 403 403 302",
    ("console/leases/quote/", "GET"): "200 200 403 403 403 302",  # no query: the form's errors
    ("console/leases/quote/", "POST"): "405 405 403 403 403 302",
    ("console/leases/take/", "GET"): "405 405 403 403 403 302",
    ("console/leases/take/", "POST"): "200 200 403 403 403 302",  # an empty form: its errors
    ("console/leases/{pk}/stop/", "GET"): "405 405 403 403 403 302",
    ("console/leases/{pk}/stop/", "POST"): "200 404 403 403 403 302",  # B: not B's lease
    # the Webhooks page (events/console.py): tenant users, each their own endpoints
    ("console/webhooks/", "GET"): "200 200 403 403 403 302",
    ("console/webhooks/", "POST"): "200 200 403 403 403 302",  # an empty form: its errors
    ("console/webhooks/{pk}/", "GET"): "200 404 403 403 403 302",
    ("console/webhooks/{pk}/", "POST"): "405 405 403 403 403 302",
    ("console/webhooks/{pk}/rotate/", "GET"): "405 405 403 403 403 302",
    ("console/webhooks/{pk}/rotate/", "POST"): "200 404 403 403 403 302",  # unconfirmed: asks
    ("console/webhooks/{pk}/toggle/", "GET"): "405 405 403 403 403 302",
    ("console/webhooks/{pk}/toggle/", "POST"): "302 404 403 403 403 302",  # back to the page
    ("console/webhooks/{pk}/deliveries/{delivery_id}/retry/", "GET"): "405 405 403 403 403 302",
    ("console/webhooks/{pk}/deliveries/{delivery_id}/retry/", "POST"): "302 404 403 403 403 302",
    # the Events page: staff
    ("console/events/", "GET"): "403 403 200 200 200 302",
    ("console/events/", "POST"): "403 403 405 405 405 302",
    # the Business cases pages (analytics/console/business_cases.py): operators and admin
    ("console/business-cases/", "GET"): "403 403 200 403 200 302",
    ("console/business-cases/", "POST"): "403 403 405 403 405 302",
    ("console/business-cases/{pk}/", "GET"): "403 403 200 403 200 302",
    ("console/business-cases/{pk}/", "POST"): "403 403 405 403 405 302",
    ("console/business-cases/sites/{pk}/", "GET"): "403 403 200 403 200 302",
    ("console/business-cases/sites/{pk}/", "POST"): "403 403 302 403 302 302",  # to the case
    # the Revenue page (analytics/console/revenue.py): finance and admin
    ("console/revenue/", "GET"): "403 403 403 200 200 302",
    ("console/revenue/", "POST"): "403 403 403 405 405 302",
    ("console/revenue/recompute/", "GET"): "403 403 403 405 405 302",
    ("console/revenue/recompute/", "POST"): "403 403 403 302 302 302",  # back to the page
    # the Vouchers page (billing/console/vouchers.py): finance and admin manage programmes,
    # grants and claims; a tenant user sees their own grants (and the programmes they hold one of)
    ("console/billing/vouchers/", "GET"): "200 200 403 200 200 302",
    ("console/billing/vouchers/", "POST"): "405 405 403 405 405 302",
    ("console/billing/vouchers/programmes/new/", "GET"): "403 403 403 200 200 302",
    ("console/billing/vouchers/programmes/new/", "POST"): "403 403 403 200 200 302",  # form errors
    ("console/billing/vouchers/programmes/{pk}/", "GET"): "200 200 403 200 200 302",  # B: holds one
    ("console/billing/vouchers/programmes/{pk}/", "POST"): "405 405 403 405 405 302",
    ("console/billing/vouchers/programmes/{pk}/grants/", "GET"): "403 403 403 405 405 302",
    ("console/billing/vouchers/programmes/{pk}/grants/", "POST"): "403 403 403 200 200 302",
    ("console/billing/vouchers/programmes/{pk}/claim/", "GET"): "403 403 403 200 200 302",
    ("console/billing/vouchers/programmes/{pk}/claim/", "POST"): "403 403 403 200 200 302",
    ("console/billing/vouchers/grants/{pk}/", "GET"): "200 404 403 200 200 302",  # B: A's grant
    ("console/billing/vouchers/grants/{pk}/", "POST"): "405 405 403 405 405 302",
    ("console/billing/vouchers/programmes/{pk}/edit/", "GET"): "403 403 403 200 200 302",
    # no body: the form shows its errors
    ("console/billing/vouchers/programmes/{pk}/edit/", "POST"): "403 403 403 200 200 302",
    ("console/billing/vouchers/programmes/{pk}/close/", "GET"): "403 403 403 405 405 302",
    ("console/billing/vouchers/programmes/{pk}/close/", "POST"): "403 403 403 302 302 302",
    ("console/billing/vouchers/grants/{pk}/revoke/", "GET"): "403 403 403 200 200 302",
    ("console/billing/vouchers/grants/{pk}/revoke/", "POST"): "403 403 403 302 302 302",
    # the Fleet pages (analytics/console/fleet.py): operators and admins
    ("console/fleet/", "GET"): "403 403 200 403 200 302",
    ("console/fleet/", "POST"): "403 403 405 403 405 302",
    ("console/fleet/recompute/", "GET"): "403 403 405 403 405 302",
    ("console/fleet/recompute/", "POST"): "403 403 302 403 302 302",  # queued: back to the page
    ("console/fleet/sites/", "GET"): "403 403 200 403 200 302",
    ("console/fleet/sites/", "POST"): "403 403 405 403 405 302",
    ("console/fleet/sites/{pk}/", "GET"): "403 403 200 403 200 302",
    ("console/fleet/sites/{pk}/", "POST"): "403 403 405 403 405 302",
    ("console/fleet/racks/{pk}/", "GET"): "403 403 200 403 200 302",
    ("console/fleet/racks/{pk}/", "POST"): "403 403 405 403 405 302",
    ("console/fleet/cards/{pk}/maintenance/", "GET"): "403 403 200 403 200 302",
    ("console/fleet/cards/{pk}/maintenance/", "POST"): "403 403 200 403 200 302",  # no confirm
    ("console/leases/{pk}/terminate/", "GET"): "200 404 403 403 403 302",  # the quote
    ("console/leases/{pk}/terminate/", "POST"): "200 404 403 403 403 302",  # no form: its errors
    ("console/billing/usage/", "GET"): "200 200 403 403 403 302",  # each tenant its own
    ("console/billing/usage/", "POST"): "405 405 403 403 403 302",
    ("console/billing/invoices/", "GET"): "200 200 403 403 403 302",
    ("console/billing/invoices/", "POST"): "405 405 403 403 403 302",
    ("console/billing/invoices/{pk}/", "GET"): "200 404 403 403 403 302",  # B: not B's invoice
    ("console/billing/invoices/{pk}/", "POST"): "405 405 403 403 403 302",
    # the Month end page (billing/console/month_end.py): finance and admin, every tenant's invoices
    ("console/billing/month-end/", "GET"): "403 403 403 200 200 302",
    ("console/billing/month-end/", "POST"): "403 403 403 405 405 302",
    ("console/billing/month-end/run/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/run/", "POST"): "403 403 403 200 200 302",  # the run's panel
    ("console/billing/month-end/runs/{pk}/", "GET"): "403 403 403 200 200 302",
    ("console/billing/month-end/runs/{pk}/", "POST"): "403 403 403 405 405 302",
    ("console/billing/month-end/issue-all/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/issue-all/", "POST"): "403 403 403 200 200 302",
    ("console/billing/month-end/{pk}/issue/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/{pk}/issue/", "POST"): "403 403 403 200 200 302",
    ("console/billing/month-end/{pk}/pay/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/{pk}/pay/", "POST"): "403 403 403 200 200 302",
    ("console/billing/month-end/{pk}/void/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/{pk}/void/", "POST"): "403 403 403 200 200 302",
    ("console/billing/month-end/{pk}/credit/", "GET"): "403 403 403 405 405 302",
    ("console/billing/month-end/{pk}/credit/", "POST"): "403 403 403 200 200 302",
    # Invoicing in China (billing/console/fapiao.py): a tenant's own profile; finance's queue
    ("console/billing/budget/", "GET"): "200 200 403 403 403 302",
    ("console/billing/budget/", "POST"): "302 302 403 403 403 302",  # saved: back to the page
    ("console/billing/profile/", "GET"): "200 200 403 403 403 302",
    ("console/billing/profile/", "POST"): "302 302 403 403 403 302",  # saved: back to the page
    ("console/billing/fapiao/", "GET"): "403 403 403 200 200 302",
    ("console/billing/fapiao/", "POST"): "403 403 403 405 405 302",
    ("console/billing/fapiao/invoices/{pk}/", "GET"): "403 403 403 405 405 302",
    ("console/billing/fapiao/invoices/{pk}/", "POST"): "403 403 403 302 302 302",  # recorded
    ("console/billing/fapiao/credit-notes/{pk}/", "GET"): "403 403 403 405 405 302",
    ("console/billing/fapiao/credit-notes/{pk}/", "POST"): "403 403 403 302 302 302",
}

# The admin's pages per registered model: every registered model is named here with its kind
# (`governed`: read-only, changes through services; `editable`: Django's own forms; `user`: the
# user admin, with its password page). Each kind's pages and outcomes are in ADMIN_FAMILIES.
ADMIN_MODELS: dict[str, str] = {
    "auth.group": "editable", "knox.authtoken": "governed",
    "django_celery_beat.periodictask": "editable", "django_celery_beat.clockedschedule": "editable",
    "django_celery_beat.crontabschedule": "editable",
    "django_celery_beat.solarschedule": "editable",
    "django_celery_beat.intervalschedule": "editable", "axes.accessattempt": "axes",
    "axes.accesslog": "axes", "axes.accessfailurelog": "axes", "core.auditlog": "governed",
    "core.idempotencykey": "editable", "accounts.tenant": "editable", "accounts.user": "user",
    "marketplace.site": "editable", "marketplace.rack": "editable",
    "marketplace.server": "editable", "marketplace.cardmodel": "editable",
    "marketplace.card": "editable", "leasing.lease": "governed", "leasing.allocation": "governed",
    "leasing.leaseevent": "governed", "billing.invoice": "governed",
    "events.event": "governed", "events.webhookendpoint": "governed",
    "events.delivery": "governed", "events.deliveryattempt": "governed",
    "billing.invoiceline": "governed", "billing.invoicerun": "governed",
    "billing.invoicerunbatch": "governed",
    "billing.creditnote": "governed", "billing.documentcounter": "governed",
    "billing.payment": "governed",
    "billing.usagerecord": "governed", "billing.metric": "governed",
    "billing.voucherprogram": "governed", "billing.vouchermodelrate": "governed",
    "billing.vouchergrant": "governed", "billing.voucherredemption": "governed",
    "billing.voucherclaim": "governed", "billing.billingprofile": "governed",
    "billing.budget": "governed", "billing.budgetnotice": "governed",
    "analytics.occupancydaily": "governed",
    "analytics.sitedaily": "governed", "analytics.revenuedaily": "governed",
    "analytics.recomputerun": "governed", "analytics.businesscase": "governed",
    "analytics.recomputechunk": "governed",
}  # fmt: skip
_ANY = ("GET", "POST", "PUT", "PATCH", "DELETE")
_EDITABLE = {
    ("", "GET"): "302 302 302 302 200 302", ("", "POST"): "302 302 302 302 200 302",
    ("add/", "GET"): "302 302 302 302 200 302", ("add/", "POST"): "302 302 302 302 200 302",
    ("{object_id}/history/", "GET"): "302 302 302 302 200 302",
    ("{object_id}/history/", "POST"): "302 302 302 302 200 302",
    ("{object_id}/delete/", "GET"): "302 302 302 302 200 302",  # an empty POST only asks
    ("{object_id}/delete/", "POST"): "302 302 302 302 200 302",
    ("{object_id}/change/", "GET"): "302 302 302 302 200 302",
    ("{object_id}/change/", "POST"): "302 302 302 302 200 302",  # an empty form: errors
    **{("{object_id}/", m): "302 302 302 302 302 302" for m in _ANY},
}  # fmt: skip
_GOVERNED = {
    **_EDITABLE,
    ("add/", "GET"): "302 302 302 302 403 302", ("add/", "POST"): "302 302 302 302 403 302",
    ("{object_id}/delete/", "GET"): "302 302 302 302 403 302",
    ("{object_id}/delete/", "POST"): "302 302 302 302 403 302",
    ("{object_id}/change/", "POST"): "302 302 302 302 403 302",
}  # fmt: skip
ADMIN_FAMILIES: dict[str, dict[tuple[str, str], str]] = {
    "editable": _EDITABLE,
    "governed": _GOVERNED,
    "axes": _EDITABLE,  # not requested (axes deletes its rows as it goes): as Django stands
    "user": {
        **_EDITABLE,
        ("{id}/password/", "GET"): "302 302 302 302 200 302",
        ("{id}/password/", "POST"): "302 302 302 302 200 302",
    },
}
# The admin's model pages requested for real: one model of each kind the project writes (the
# other registered models' pages are the same views; requesting all 245 would take minutes).
ADMIN_REQUESTED = {"accounts.tenant", "accounts.user", "leasing.lease"}


def admin_prefix(label: str) -> str:
    app, model = label.split(".")
    return f"admin/{app}/{model}/"


def matrix() -> dict[tuple[str, str], str]:
    """The whole table: the site's routes and the admin's model pages."""
    table = dict(MATRIX_SITE)
    for label, kind in ADMIN_MODELS.items():
        for (suffix, method), outcome in ADMIN_FAMILIES[kind].items():
            table[(admin_prefix(label) + suffix, method)] = outcome
    return table


# --- Requests ------------------------------------------------------------------------------------


def _obj_id(label: str) -> str:
    """The admin's path parameter for a model: the pk of its first row."""
    from django.apps import apps

    model = apps.get_model(label)
    pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    assert pk is not None, f"the matrix world has no {label} row for the admin routes"
    return str(pk)


def _admin_label(path: str) -> str | None:
    parts = path.split("/")
    return f"{parts[1]}.{parts[2]}" if len(parts) > 3 and path.startswith("admin/") else None


# Path parameters: A's objects (a route's own choice where one object cannot serve every method).
PARAMS: dict[str, Callable[[World], Any]] = {
    "api/v1/tenants/{pk}/": lambda w: w.a.tenant.pk,
    "api/v1/cards/{pk}/maintenance/": lambda w: w.a.long.allocations.first().card_id,
    "api/v1/leases/{pk}/": lambda w: w.a.long.pk,
    "api/v1/events/{pk}/": lambda w: w.extra["event"].pk,
    "api/v1/webhook-endpoints/{pk}/": lambda w: w.extra["endpoint"].pk,
    "api/v1/webhook-endpoints/{pk}/rotate-secret/": lambda w: w.extra["endpoint"].pk,
    "api/v1/webhook-endpoints/{pk}/deliveries/": lambda w: w.extra["endpoint"].pk,
    "api/v1/webhook-endpoints/{pk}/deliveries/{delivery_id}/retry/": lambda w: (
        w.extra["endpoint"].pk,
        w.extra["delivery"].pk,
    ),
    "api/v1/leases/{pk}/cancel/": lambda w: w.a.reserved.pk,
    "api/v1/leases/{pk}/events/": lambda w: w.a.long.pk,
    "api/v1/leases/{pk}/renew/": lambda w: w.a.long.pk,
    "api/v1/leases/{pk}/stop/": lambda w: w.a.short.pk,
    "console/leases/{pk}/stop/": lambda w: w.a.short.pk,
    "console/webhooks/{pk}/": lambda w: w.extra["endpoint"].pk,
    "console/webhooks/{pk}/rotate/": lambda w: w.extra["endpoint"].pk,
    "console/webhooks/{pk}/toggle/": lambda w: w.extra["endpoint"].pk,
    "console/webhooks/{pk}/deliveries/{delivery_id}/retry/": lambda w: (
        w.extra["endpoint"].pk,
        w.extra["delivery"].pk,
    ),
    "console/business-cases/{pk}/": lambda w: w.business_case.pk,
    "console/business-cases/sites/{pk}/": lambda w: w.site.pk,
    "console/billing/vouchers/programmes/{pk}/": lambda w: w.program.pk,
    "console/billing/vouchers/programmes/{pk}/grants/": lambda w: w.program.pk,
    "console/billing/vouchers/programmes/{pk}/claim/": lambda w: w.program.pk,
    "console/billing/vouchers/grants/{pk}/": lambda w: w.a.grant.pk,
    "console/billing/vouchers/grants/{pk}/revoke/": lambda w: w.a.grant.pk,
    "console/billing/vouchers/programmes/{pk}/edit/": lambda w: w.program.pk,
    "console/billing/vouchers/programmes/{pk}/close/": lambda w: w.program.pk,
    "console/fleet/sites/{pk}/": lambda w: w.site.pk,
    "console/fleet/racks/{pk}/": lambda w: w.rack.pk,
    "console/fleet/cards/{pk}/maintenance/": lambda w: w.a.long.allocations.first().card_id,
    "console/leases/{pk}/terminate/": lambda w: w.a.long.pk,
    "console/billing/invoices/{pk}/": lambda w: w.a.march.pk,
    "console/billing/month-end/runs/{pk}/": lambda w: w.run.pk,
    "console/billing/month-end/{pk}/issue/": lambda w: w.a.may.pk,
    "console/billing/month-end/{pk}/pay/": lambda w: w.a.april.pk,
    "console/billing/month-end/{pk}/void/": lambda w: w.a.april.pk,
    "console/billing/month-end/{pk}/credit/": lambda w: w.a.march.pk,
    "console/billing/fapiao/invoices/{pk}/": lambda w: w.a.april.pk,
    "console/billing/fapiao/credit-notes/{pk}/": lambda w: w.a.credit_note.pk,
    "api/v1/leases/{pk}/terminate/": lambda w: w.a.long.pk,
    "api/v1/metrics/{pk}/": lambda w: Metric.objects.get(code="storage_tb_hours").pk,
    "api/v1/usage-records/{pk}/": lambda w: w.a.usage.pk,
    "api/v1/voucher-programs/{pk}/": lambda w: w.program.pk,
    "api/v1/voucher-programs/{pk}/claims/": lambda w: w.program.pk,
    "api/v1/voucher-grants/{pk}/": lambda w: w.a.grant.pk,
    "api/v1/voucher-grants/{pk}/revoke/": lambda w: w.a.grant.pk,
    "api/v1/voucher-programs/{pk}/close/": lambda w: w.program.pk,
    "api/v1/invoice-runs/{pk}/": lambda w: w.run.pk,
    "api/v1/invoices/{pk}/": lambda w: w.a.march.pk,
    "api/v1/invoices/{pk}/issue/": lambda w: w.a.may.pk,
    "api/v1/invoices/{pk}/pay/": lambda w: w.a.april.pk,
    "api/v1/invoices/{pk}/pdf/": lambda w: w.a.march.pk,
    "api/v1/invoices/{pk}/void/": lambda w: w.a.april.pk,
    "api/v1/credit-notes/{pk}/": lambda w: w.a.credit_note.pk,
    "api/v1/tenants/{tenant_id}/billing-profile/": lambda w: w.a.tenant.pk,
    "api/v1/tenants/{tenant_id}/budget/": lambda w: w.a.tenant.pk,
    "api/v1/invoices/{pk}/fapiao/": lambda w: w.a.april.pk,
    "api/v1/credit-notes/{pk}/fapiao/": lambda w: w.a.credit_note.pk,
    "api/v1/credit-notes/{pk}/pdf/": lambda w: w.a.credit_note.pk,
    "api/v1/sites/{pk}/": lambda w: w.empty_site.pk,
    "api/v1/racks/{pk}/": lambda w: w.empty_rack.pk,
    "api/v1/servers/{pk}/": lambda w: w.empty_server.pk,
    "api/v1/card-models/{pk}/": lambda w: w.spare_model.pk,
    "api/v1/cards/{pk}/": lambda w: w.a.long.allocations.first().card_id,
    "api/v1/business-cases/{pk}/": lambda w: w.business_case.pk,
    "api/v1/reports/recompute/{pk}/": lambda w: w.extra["recompute"].pk,
    "admin/r/{content_type_id}/{object_id}/": lambda w: (
        f"{ContentType.objects.get_for_model(Tenant).pk}/{w.a.tenant.pk}"
    ),
    "admin/accounts/user/{id}/password/": lambda w: w.a.user.pk,
    "admin/{app_label}/": lambda w: "accounts",
    "admin/{url}": lambda w: "no-such-page/",
}


def fill(route: Route, world: World) -> str:
    """The path of `route` with A's objects for its parameters."""
    if not route.params:
        return "/" + route.path
    if route.path in PARAMS:
        found = PARAMS[route.path](world)
        path = route.path
        if isinstance(found, tuple):  # one value per parameter, in order
            for param, part in zip(route.params, found, strict=True):
                path = path.replace("{" + param + "}", str(part))
            return "/" + path
        value = str(found)
        if route.path == "admin/r/{content_type_id}/{object_id}/":
            return "/admin/r/" + value + "/"
        return "/" + route.path.replace("{" + route.params[0] + "}", value)
    label = _admin_label(route.path)
    assert label is not None and route.params == ("object_id",), f"no parameters for {route.path}"
    value = str(world.a.user.pk) if label == "accounts.user" else _obj_id(label)
    return "/" + route.path.replace("{object_id}", value)


# Bodies and query strings: valid ones, so an allowed request succeeds. `actor` lets tenant B
# name A's objects where a body names a tenant's.
Body = dict[str, Any]


class FormBody(dict[str, Any]):
    """A console form's body: sent form-encoded, as a browser posts it."""


CASE_FORM = FormBody(
    {f"capex_{c}": "0" for c in ("build", "software", "models", "other")}
    | {f"opex_{c}": "0" for c in ("operations", "repairs", "staff", "other")}
    | {"capex_hardware": "100000.00", "opex_power_water": "12000.00", "horizon_years": "5"}
    | {"scenarios": "70, 80", "long_share": "", "subsidy": "0", "discount_rate": "8"}
)


def _lease_body(w: World, actor: str) -> Body:
    body: Body = {"kind": "short", "card_model": w.model.pk, "card_count": 1}
    if actor != _A:  # staff name the tenant; tenant B tries to lease for A
        body["tenant"] = w.a.tenant.pk
    return body


def _usage_body(w: World, actor: str) -> Body:
    record = {
        "source": "matrix", "external_id": "m-1", "lease": w.a.long.pk,
        "metric": "storage_tb_hours", "quantity": "2", "start": "2027-05-10T00:00:00Z",
        "end": "2027-05-10T01:00:00Z",
    }  # fmt: skip
    return {"records": [record]}


PROGRAMME = {
    "issuer": "Yichang", "name": "matrix vouchers", "budget": "1000.00",
    "coverage_rate": "0.2000", "per_tenant_cap": "500.00", "valid_from": "2027-01-01",
    "valid_to": "2027-12-31", "lease_kinds": ["long"], "max_term_months": 12,
}  # fmt: skip
CSV_IMPORT = (
    "site,rack,server,position,card_model,serial,capex_cost,commissioned_on\n"
    "MX1,R01,srv-m,4,{model},SN-MATRIX-1,120000.00,2025-06-01\n"
)
REPORT = "?from=2027-03-01&to=2027-03-31&group_by=site"

BODIES: dict[tuple[str, str], Callable[[World, str], Any]] = {
    ("api/v1/test-clock/", "POST"): lambda w, a: {"now": "2027-06-02T03:00:00Z"},
    ("api/v1/auth/token/", "POST"): lambda w, a: {
        "username": w.a.user.username,
        "password": "secret-pass",
    },
    ("api/v1/tenants/", "POST"): lambda w, a: {
        "name": "Matrix Co",
        "category": "enterprise",
        "tax_id": "91110000MA77777777",
        "billing_address": "1 Matrix Road",
    },
    ("api/v1/tenants/{pk}/", "PUT"): lambda w, a: {
        "name": "Renamed Co",
        "category": "enterprise",
        "tax_id": w.a.tenant.tax_id,
        "billing_address": "2 Matrix Road",
    },
    ("api/v1/tenants/{pk}/", "PATCH"): lambda w, a: {"billing_address": "3 Matrix Road"},
    ("api/v1/cards/{pk}/maintenance/", "POST"): lambda w, a: {"reason": "fan"},
    ("api/v1/leases/", "POST"): _lease_body,
    ("api/v1/webhook-endpoints/", "POST"): lambda w, a: {"url": "https://h.example/m"},
    ("api/v1/webhook-endpoints/{pk}/", "PATCH"): lambda w, a: {"description": "matrix"},
    ("api/v1/leases/{pk}/cancel/", "POST"): lambda w, a: {"reason": "matrix"},
    ("api/v1/leases/{pk}/renew/", "POST"): lambda w, a: {},
    ("api/v1/leases/{pk}/stop/", "POST"): lambda w, a: {"reason": "matrix"},
    ("api/v1/leases/{pk}/terminate/", "POST"): lambda w, a: {"effective": "2027-09-01"},
    ("api/v1/metrics/{pk}/", "PATCH"): lambda w, a: {"unit_price": "0.5000"},
    ("api/v1/usage-records/", "POST"): _usage_body,
    ("api/v1/voucher-programs/", "POST"): lambda w, a: PROGRAMME,
    ("api/v1/voucher-programs/{pk}/claims/", "POST"): lambda w, a: {
        "month": "2027-03",
        "status": "submitted",
    },
    ("api/v1/voucher-programs/{pk}/", "PATCH"): lambda w, a: {"name": "Matrix programme"},
    ("api/v1/voucher-programs/{pk}/close/", "POST"): lambda w, a: {},
    ("api/v1/voucher-grants/{pk}/revoke/", "POST"): lambda w, a: {"reason": "matrix"},
    ("api/v1/voucher-grants/", "POST"): lambda w, a: {
        "program": w.program.pk,
        "tenant": w.a.tenant.pk,
        "amount": "10.00",
    },
    ("api/v1/invoice-runs/", "POST"): lambda w, a: {"month": "2027-05"},
    ("api/v1/invoices/{pk}/issue/", "POST"): lambda w, a: None,
    ("api/v1/invoices/{pk}/pay/", "POST"): lambda w, a: {"reference": "matrix"},
    ("api/v1/invoices/{pk}/void/", "POST"): lambda w, a: {"reason": "matrix"},
    ("api/v1/me/billing-profile/", "PUT"): lambda w, a: {
        "invoice_title": "Matrix Co., Ltd.",
        "tax_id": "91420500MA4F0YL01G",
    },
    ("api/v1/me/billing-profile/", "PATCH"): lambda w, a: {"email": "ap@matrix.example"},
    ("api/v1/tenants/{tenant_id}/billing-profile/", "PUT"): lambda w, a: {
        "invoice_title": "Matrix Co., Ltd.",
        "tax_id": "91420500MA4F0YL01G",
    },
    ("api/v1/tenants/{tenant_id}/billing-profile/", "PATCH"): lambda w, a: {"email": "a@b.example"},
    ("api/v1/me/budget/", "PUT"): lambda w, a: {"monthly_limit": "50000.00", "action": "stop"},
    ("api/v1/me/budget/", "PATCH"): lambda w, a: {"warn_at": ["0.9"]},
    ("api/v1/tenants/{tenant_id}/budget/", "PUT"): lambda w, a: {"monthly_limit": "50000.00"},
    ("api/v1/tenants/{tenant_id}/budget/", "PATCH"): lambda w, a: {"action": "stop"},
    ("api/v1/invoices/{pk}/fapiao/", "POST"): lambda w, a: {
        "number": "27420000000000000099",
        "issued_on": "2027-06-01",
    },
    ("api/v1/credit-notes/{pk}/fapiao/", "POST"): lambda w, a: {
        "number": "27420000000000000098",
        "issued_on": "2027-06-02",
    },
    ("api/v1/credit-notes/", "POST"): lambda w, a: {
        "invoice": w.a.march.pk,
        "amount": "1.00",
        "reason": "matrix",
        "reason_code": "allowance",
    },
    # console forms (sent form-encoded, see `send`): the month the page shows, and the action's
    ("console/billing/month-end/run/", "POST"): lambda w, a: {"month": "2027-05"},
    ("console/billing/month-end/issue-all/", "POST"): lambda w, a: {"month": "2027-05"},
    ("console/billing/budget/", "POST"): lambda w, a: {
        "monthly_limit": "50000.00",
        "warn_at": "50, 80",
        "action": "notify",
    },
    ("console/billing/profile/", "POST"): lambda w, a: {
        "invoice_title": "Matrix Co., Ltd.",
        "tax_id": "91420500MA4F0YL01G",
        "fapiao_type": "ordinary",
    },
    ("console/billing/fapiao/invoices/{pk}/", "POST"): lambda w, a: {
        "month": "2027-06",
        "number": "27420000000000000097",
        "issued_on": "2027-06-01",
    },
    ("console/billing/fapiao/credit-notes/{pk}/", "POST"): lambda w, a: {
        "month": "2027-06",
        "number": "27420000000000000096",
        "issued_on": "2027-06-02",
    },
    ("console/billing/month-end/{pk}/issue/", "POST"): lambda w, a: {"month": "2027-05"},
    ("console/billing/month-end/{pk}/pay/", "POST"): lambda w, a: {
        "month": "2027-04",
        "reference": "matrix",
    },
    ("console/billing/month-end/{pk}/void/", "POST"): lambda w, a: {
        "month": "2027-04",
        "reason": "matrix",
    },
    ("console/billing/month-end/{pk}/credit/", "POST"): lambda w, a: {
        "month": "2027-03",
        "amount": "1.00",
        "reason": "matrix",
        "reason_code": "allowance",
    },
    ("api/v1/inventory/import/", "POST"): lambda w, a: CSV_IMPORT.format(model=w.model.name),
    ("api/v1/sites/", "POST"): lambda w, a: {"code": "MX9", "name": "Matrix site"},
    ("api/v1/sites/{pk}/", "PUT"): lambda w, a: {"code": "MX8", "name": "Renamed site"},
    ("api/v1/sites/{pk}/", "PATCH"): lambda w, a: {"name": "Renamed site"},
    ("api/v1/racks/", "POST"): lambda w, a: {"site": w.site.pk, "name": "RX1", "status": "racked"},
    ("api/v1/racks/{pk}/", "PUT"): lambda w, a: {
        "site": w.site.pk,
        "name": "RX2",
        "status": "planned",
    },
    ("api/v1/racks/{pk}/", "PATCH"): lambda w, a: {"name": "RX3"},
    # slots no factory reaches (their positions count up through the whole session)
    ("api/v1/servers/", "POST"): lambda w, a: {
        "rack": w.rack.pk,
        "name": "srv-x",
        "position": 32000,
    },
    ("api/v1/servers/{pk}/", "PUT"): lambda w, a: {
        "rack": w.rack.pk,
        "name": "srv-y",
        "position": 32001,
    },
    ("api/v1/servers/{pk}/", "PATCH"): lambda w, a: {"name": "srv-z"},
    ("api/v1/card-models/", "POST"): lambda w, a: {
        "vendor": "Matrix",
        "name": "MX-1",
        "memory_gb": 64,
        "bf16_tflops": "100.00",
        "domestic": True,
        "hourly_rate": "5.0000",
        "monthly_rate": "3000.0000",
    },
    ("api/v1/card-models/{pk}/", "PUT"): lambda w, a: {
        "vendor": "Matrix",
        "name": "MX-2",
        "memory_gb": 64,
        "bf16_tflops": "100.00",
        "domestic": True,
        "hourly_rate": "5.0000",
        "monthly_rate": "3000.0000",
    },
    ("api/v1/card-models/{pk}/", "PATCH"): lambda w, a: {"name": "MX-3"},
    ("api/v1/cards/", "POST"): lambda w, a: {
        "server": w.empty_server.pk,
        "card_model": w.model.pk,
        "serial": "SN-MX-1",
        "capex_cost": "1000.00",
        "commissioned_on": "2025-06-01",
    },
    ("api/v1/cards/{pk}/", "PUT"): lambda w, a: {
        "server": w.empty_server.pk,
        "card_model": w.model.pk,
        "serial": "SN-MX-2",
        "capex_cost": "1000.00",
        "commissioned_on": "2025-06-01",
    },
    ("api/v1/cards/{pk}/", "PATCH"): lambda w, a: {"capex_cost": "2000.00"},
    ("api/v1/reports/recompute/", "POST"): lambda w, a: {"from": "2027-05-01", "to": "2027-05-02"},
    ("api/v1/business-cases/", "POST"): lambda w, a: {"site": w.site.pk},
    ("console/business-cases/sites/{pk}/", "POST"): lambda w, a: CASE_FORM,
    ("console/revenue/recompute/", "POST"): lambda w, a: FormBody(
        {"start": "2027-05-01", "end": "2027-05-02"}
    ),
}
QUERIES: dict[tuple[str, str], Callable[[World], str]] = {
    ("api/v1/availability/", "GET"): lambda w: f"?card_model={w.model.pk}&count=1",
    ("api/v1/voucher-programs/{pk}/claims/", "GET"): lambda w: "?month=2027-03",
    ("console/billing/vouchers/programmes/{pk}/claim/", "GET"): lambda w: "?month=2027-03",
    ("console/billing/vouchers/programmes/{pk}/claim/", "POST"): lambda w: "?month=2027-03",
    ("api/v1/invoices/export/", "GET"): lambda w: "?month=2027-03",
    ("api/v1/invoices/fapiao-export/", "GET"): lambda w: "?month=2027-05",
    ("api/v1/reports/occupancy/", "GET"): lambda w: REPORT,
    ("api/v1/reports/revenue/", "GET"): lambda w: REPORT,
    ("api/schema/", "GET"): lambda w: "?format=json",
}


def send(client: Client, world: World, route: Route, method: str, actor: str) -> Any:
    """Make the request; in a savepoint rolled back after it. Returns the response with the
    rows it wrote (`response.wrote`)."""
    key = (route.path, method)
    path = fill(route, world)
    query = QUERIES[key](world) if key in QUERIES else ""
    body = BODIES[key](world, actor) if key in BODIES else None
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs = {"data": body.encode(), "content_type": "text/csv"}
    elif isinstance(body, FormBody) or (body is not None and route.path.startswith("console/")):
        kwargs = {"data": urlencode(body), "content_type": "application/x-www-form-urlencoded"}
    elif body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    cookies = copy.deepcopy(client.cookies)  # a logout must not log the actor out for good
    with transaction.atomic():
        before = writes_so_far()
        response = client.generic(method, path + query, **kwargs)
        after = writes_so_far()
        transaction.set_rollback(True)
    client.cookies = cookies
    cache.delete(clock.TEST_CLOCK_KEY)
    response.wrote = {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}
    return response


# --- Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The objects, built once for the module in a transaction rolled back at its end."""
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(TEST_CLOCK=True):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker: Any) -> dict[str, APIClient]:
    """A client per actor: its API key for the API, and logged in for the admin's pages."""
    out = {}
    with django_db_blocker.unblock(), at(NOW):  # sessions last from NOW
        for actor in ACTORS:
            client = APIClient()
            user = world.users[actor]
            if user is not None:
                client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
                client.force_login(user)
            out[actor] = client
    return out


@pytest.fixture
def at_now(db: None, world: World, settings: Any) -> Iterator[None]:
    settings.TEST_CLOCK = True  # the test clock's route is on, so its admin-only rule shows
    with at(NOW):
        yield


def _requested(route: Route) -> bool:
    label = _admin_label(route.path)
    return label is None or label not in ADMIN_MODELS or label in ADMIN_REQUESTED


def _refused(status: int, response: Any) -> bool:
    to_login = status == 302 and "/login/" in response.get("Location", "")
    return status in REFUSED or to_login


def test_every_route_is_classified() -> None:
    """Every (route, method) the URL conf serves is in the matrix, and nothing else is."""
    served = {(route.path, method) for route in served_routes() for method in route.methods}
    table = matrix()
    missing = sorted(served - set(table))
    gone = sorted(set(table) - served)
    assert not missing, f"routes the matrix does not classify (add them to MATRIX_SITE): {missing}"
    assert not gone, f"matrix entries for routes that no longer exist: {gone}"
    assert all(len(outcome.split()) == len(ACTORS) for outcome in table.values())


def test_every_actor_gets_what_the_matrix_says(
    world: World, clients: dict[str, APIClient], at_now: None
) -> None:
    table = matrix()
    failures = []
    for route in served_routes():
        if not _requested(route):
            continue
        for method in route.methods:
            expected = table[(route.path, method)].split()
            for actor, wanted in zip(ACTORS, expected, strict=True):
                response = send(clients[actor], world, route, method, actor)
                status = response.status_code
                want: str | int = OK if wanted == OK else int(wanted)
                where = f"{method} /{route.path} as {actor}"
                if not matches(want, status):
                    body = getattr(response, "content", b"")[:200]
                    failures.append(f"{where}: expected {wanted}, got {status} {body!r}")
                elif _refused(status, response) and response.wrote:
                    failures.append(f"{where}: refused ({status}) but wrote {response.wrote}")
    assert not failures, f"{len(failures)} outcome(s) differ:\n" + "\n".join(failures)


# --- Lists: only the caller's rows --------------------------------------------------------------

# List routes over tenant rows, with the resource name Side.ids() uses.
TENANT_LISTS = {
    "api/v1/leases/": "leases",
    "api/v1/usage-records/": "usage-records",
    "api/v1/invoices/": "invoices",
    "api/v1/credit-notes/": "credit-notes",
    "api/v1/voucher-grants/": "voucher-grants",
    "api/v1/tenants/": "tenants",
    "api/v1/cards/": "cards",
    "api/v1/events/": "events",
    "api/v1/webhook-endpoints/": "webhook-endpoints",
}


def _pages(client: APIClient, url: str) -> Iterator[dict[str, Any]]:
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, (url, response.content[:200])
        body = response.json()
        yield from body["results"]
        next_url = body.get("next")


def test_lists_show_a_tenant_only_its_own_rows(
    world: World, clients: dict[str, APIClient], at_now: None
) -> None:
    """As A and as B, every list (all its pages, 1 row a page) and its CSV form carry only the
    caller's rows; and the walk above covers every list route over tenant rows."""
    served_lists = {r.path for r in served_routes() if not r.params and r.path in TENANT_LISTS}
    assert served_lists == set(TENANT_LISTS)
    for me, other, actor in ((world.a, world.b, _A), (world.b, world.a, _B)):
        mine, theirs = me.ids(), other.ids()
        for path, resource in TENANT_LISTS.items():
            rows = list(_pages(clients[actor], f"/{path}?page_size=1"))
            ids = {row["id"] for row in rows}
            assert ids <= mine[resource], (actor, path, ids - mine[resource])
            assert not ids & theirs[resource], (actor, path)
            if resource in ("leases", "invoices"):
                assert ids == mine[resource], (actor, path)  # the scoping found them all
            tenants = {row.get("tenant") for row in rows} - {None}
            assert tenants <= {me.tenant.pk}, (actor, path, tenants)
            as_csv = clients[actor].get(f"/{path}?format=csv&page_size=500")
            assert as_csv.status_code == 200
            assert other.tenant.name not in as_csv.content.decode(), (actor, path)
    # staff exports and reports name every tenant; tenants are refused them (the matrix)
    export = clients[_FIN].get("/api/v1/invoices/export/?month=2027-03").content.decode()
    assert world.a.tenant.name in export and world.b.tenant.name in export


# --- Idempotency keys are per tenant -------------------------------------------------------------


def test_another_tenant_replaying_a_key_does_not_get_the_first_answer(
    world: World, clients: dict[str, APIClient], at_now: None
) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "matrix-key-1"}
    body = {"kind": "short", "card_model": world.model.pk, "card_count": 1}
    first = clients[_A].post("/api/v1/leases/", body, format="json", **headers)
    assert first.status_code == 201, first.content
    again = clients[_A].post("/api/v1/leases/", body, format="json", **headers)
    assert again.headers.get("Idempotent-Replayed") == "true"  # the key works for its owner
    theirs = clients[_B].post("/api/v1/leases/", body, format="json", **headers)
    assert theirs.status_code == 201, theirs.content
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.json()["tenant"] == world.b.tenant.pk
    # a usage batch naming A's lease, replayed by B with A's key: refused, not A's answer
    usage = _usage_body(world, _A)
    headers = {"HTTP_IDEMPOTENCY_KEY": "matrix-key-2"}
    assert (
        clients[_A].post("/api/v1/usage-records/", usage, format="json", **headers).status_code
        == 201
    )
    replay = clients[_B].post("/api/v1/usage-records/", usage, format="json", **headers)
    assert replay.status_code == 400 and "Idempotent-Replayed" not in replay.headers
