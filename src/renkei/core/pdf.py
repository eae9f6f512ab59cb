"""Reports as PDF, so a report can be filed or sent as one document.

WeasyPrint lays the report's own HTML and CSS out for print. It needs the system's Pango
library: where that is missing, ``PdfUnavailableError`` says what to install rather than
failing on import. The report's HTML may hold text from members and feeds, so nothing
outside the document is fetched (only ``data:`` URLs).
"""

from __future__ import annotations

from renkei.core.errors import UserError

PANGO_HINT = "Debian: apt install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"


class PdfUnavailableError(UserError):
    """The PDF library or the system library it needs is not installed."""

    status = 503  # the request was fine; this hub cannot make PDFs until someone installs


def html_to_pdf(html: str) -> bytes:
    """The document laid out as PDF; only ``data:`` URLs are read, nothing is fetched."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as error:  # OSError: WeasyPrint's import loads Pango
        raise PdfUnavailableError(
            "PDF needs WeasyPrint and the Pango library ({hint}): {reason}",
            hint=PANGO_HINT, reason=str(error).splitlines()[0][:200]) from error
    fetcher = URLFetcher(allowed_protocols=("data",), timeout=1)
    document: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return document


def pdf_available() -> bool:
    """Whether ``html_to_pdf`` can run here (tests of PDF output skip when it cannot)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True
