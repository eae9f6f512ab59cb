"""The yearly evaluation report: progress, delayed measures, audits, both languages, escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.pdf import pdf_available
from renkei.core.time import FixedClock
from renkei.plan import audits, report, status
from renkei.plan.frameworks import shipped_frameworks
from renkei.plan.model import AuditOutcome, Status

CLOCK = FixedClock(datetime(2016, 3, 1, tzinfo=UTC))
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def recorded(db_session: Session) -> Session:
    orgs.add(db_session, CLOCK, "Hub", hub=True)
    orgs.add(db_session, CLOCK, HOSTILE[:60])
    status.set_status(db_session, CLOCK, "2.3(1)(キ)", 2015, Status.DELAYED, note=HOSTILE,
                      links=['https://example.org/"><script>x</script>'], actor="a")
    status.set_status(db_session, CLOCK, "1.1(1)(ア)", 2015, Status.DONE, actor="a")
    shipped = shipped_frameworks()[0]
    framework, _ = audits.load_framework(db_session, CLOCK, shipped.read_bytes(), shipped.name,
                                         actor="a")
    for year, outcome in ((2014, AuditOutcome.PARTIAL), (2015, AuditOutcome.COMPLIANT)):
        audits.create_campaign(db_session, CLOCK, f"fy{year}", framework.key, year, actor="a")
        assessment = audits.get_assessment(db_session, f"fy{year}", HOSTILE[:60])
        audits.record_result(db_session, CLOCK, assessment, "G1.1", outcome, actor="a")
    return db_session


@pytest.mark.parametrize(("lang", "words"), [
    ("ja", ["年次評価報告", "章別の進捗", "遅延", "監査結果", "改善"]),
    ("en", ["Yearly evaluation report", "Progress by chapter", "delayed", "Audit results"]),
])
def test_the_report_in_both_languages(recorded: Session, lang: str, words: list[str]) -> None:
    html = report.render_html(recorded, 2015, lang, now=CLOCK.now())
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html
    assert html.count("<svg") == 2  # by chapter, by responsible body
    assert "2.3(1)(キ)" in html
    assert "fy2014" in html  # compared with the campaign before


def test_people_s_text_is_escaped_never_run(recorded: Session) -> None:
    html = report.render_html(recorded, 2015, "en", now=CLOCK.now())
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "default-src 'none'" in html


def test_as_of_and_an_empty_year(recorded: Session) -> None:
    before = report.render_html(recorded, 2015, "en", now=CLOCK.now(),
                                as_of=datetime(2015, 4, 1, tzinfo=UTC))
    assert "No measure is delayed or dropped." in before
    assert "as of 2015-04-01" in before


@pytest.mark.skipif(not pdf_available(), reason="WeasyPrint or Pango missing")
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_report_as_pdf(recorded: Session, lang: str) -> None:
    html = report.render_html(recorded, 2015, lang, now=CLOCK.now())
    answer = report.report_response(html, 2015, "pdf")
    assert answer.media_type == "application/pdf"
    assert answer.headers["content-disposition"].endswith('plan-report-2015.pdf"')
    assert bytes(answer.body).startswith(b"%PDF-")
