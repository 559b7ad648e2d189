"""The analytics app's console pages (/console/…): business cases and revenue, fleet pages."""
