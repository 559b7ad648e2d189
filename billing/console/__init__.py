"""The console's billing pages: vouchers (算力券), month end and the tenant's own billing; one
module per area, their routes in billing/console_urls.py."""
