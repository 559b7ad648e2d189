"""The console's billing pages (finance and tenants): one module per page, routed by
billing/console_urls.py; templates under billing/templates/billing/console/."""
