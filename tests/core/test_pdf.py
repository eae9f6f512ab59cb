"""Reports as PDF: a document comes out, and nothing outside it is ever fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from renkei.core.pdf import html_to_pdf, pdf_available

pytestmark = pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or Pango missing")


@pytest.fixture
def asked() -> Iterator[tuple[str, list[str]]]:
    """A local web server that records every path asked of it."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_of_japanese_and_english_becomes_a_pdf() -> None:
    document = html_to_pdf("<!DOCTYPE html><html lang='ja'><body><h1>年次評価報告</h1>"
                           "<p>Yearly evaluation report</p></body></html>")
    assert document.startswith(b"%PDF-")
    assert document.rstrip().endswith(b"%%EOF")


def test_nothing_outside_the_document_is_fetched(asked: tuple[str, list[str]],
                                                 tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    base, paths = asked
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (f"<html><head><link rel='stylesheet' href='{base}/style.css'>"
            f"<link rel='stylesheet' href='file://{secret}'>"
            f"<style>@import url('{base}/imported.css');</style></head>"
            f"<body><img src='{base}/image.png'><a href='{base}/linked'>a link</a>"
            f"<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='></body></html>")
    document = html_to_pdf(html)
    assert document.startswith(b"%PDF-")
    assert paths == [], "the PDF maker fetched what the document only names"
    refused = " ".join(r.getMessage() for r in caplog.records)
    assert f"file://{secret}" in refused, "the file on disk was refused, not read"
