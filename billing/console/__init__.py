"""The console's billing pages: `tenant` (a tenant's usage and invoices), `month_end` (finance's
month end) and `vouchers` (voucher programmes, grants, claims and balances). URLs in
billing/console_urls.py, templates under billing/templates/billing/console/."""
