"""System checks of billing's own setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def pdf_font_installed(**kwargs: Any) -> list[Error]:
    """Invoice PDFs embed a CJK TrueType font; without it they cannot be rendered."""
    if Path(settings.PDF_FONT_PATH).is_file():
        return []
    return [
        Error(
            f"The PDF font {settings.PDF_FONT_PATH} is missing.",
            hint="Install the Debian package fonts-wqy-microhei (`make run` and `make test` do), "
            "or point PDF_FONT_PATH at a TrueType font with CJK glyphs.",
            id="billing.E001",
        )
    ]


@register()
def seller_configured(**kwargs: Any) -> list[Warning]:
    """A start without a seller (production has none until the deployer sets it) runs, but
    issues no invoice (409 seller_not_configured): every start and `manage.py check` say so."""
    from billing.parties import seller_configured as configured  # the app registry is ready

    if configured():
        return []
    return [
        Warning(
            "The seller is not configured: SELLER_TAX_ID is not a valid Unified Social Credit "
            "Code, so no invoice can be issued.",
            hint="Set SELLER_NAME, SELLER_TAX_ID, SELLER_ADDRESS, SELLER_PHONE, SELLER_BANK_NAME, "
            "SELLER_BANK_ACCOUNT and FAPIAO_TAX_CODE (docs/operations.md §Seller).",
            id="billing.W001",
        )
    ]
