"""System checks of billing's own setup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


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
