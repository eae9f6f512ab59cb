"""`renkei vulns …` as an operator scripts it: import feeds of several formats, match an
inventory (the `--json` contract), register assets, alerts, advisories, coordination."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from renkei.cli import app

runner = CliRunner()

OSV = {
    "schema_version": "1.6.0", "id": "PYSEC-2026-11", "modified": "2026-03-01T00:00:00Z",
    "published": "2026-02-01T00:00:00Z", "aliases": ["CVE-2026-1111", "GHSA-abcd-efgh-ijkl"],
    "summary": "SQL injection in QuerySet.filter",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "django"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "4.2"},
                                                              {"fixed": "4.2.8"}]}],
                  "versions": ["4.2", "4.2.1", "4.2.7"]}],
    "references": [{"type": "WEB", "url": "https://www.djangoproject.com/weblog/"}],
}
NVD = {
    "resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE",
    "version": "2.0", "timestamp": "2026-03-02T00:00:00.000",
    "vulnerabilities": [{"cve": {
        "id": "CVE-2026-1111", "sourceIdentifier": "security@djangoproject.com",
        "published": "2026-02-01T10:00:00.000", "lastModified": "2026-03-01T10:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": "Django 4.2 before 4.2.8 allows SQL injection."}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
            "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "baseScore": 9.1, "baseSeverity": "CRITICAL"}}]},
        "configurations": [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [{
            "vulnerable": True, "criteria": "cpe:2.3:a:djangoproject:django:*:*:*:*:*:*:*:*",
            "versionStartIncluding": "4.2", "versionEndExcluding": "4.2.8",
            "matchCriteriaId": "36FBCF0F-8CEE-474C-8A04-5075AF53FAF4"}]}]}],
        "references": [{"url": "https://example.org/ref", "source": "nvd@nist.gov"}]}}],
}
KEV = {"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.03.02",
       "dateReleased": "2026-03-02T00:00:00.000Z", "count": 1, "vulnerabilities": [{
           "cveID": "CVE-2026-1111", "vendorProject": "Django", "product": "Django",
           "vulnerabilityName": "Django SQL Injection", "dateAdded": "2026-03-02",
           "shortDescription": "SQL injection.", "requiredAction": "Apply updates.",
           "dueDate": "2026-03-23", "knownRansomwareCampaignUse": "Unknown", "notes": ""}]}
EPSS = ("#model_version:v2025.03.14,score_date:2026-03-02T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2026-1111,0.42000,0.97000\nCVE-2026-9999,0.00100,0.10000\n")
INVENTORY = ("pkg:pypi/django@4.2.1\npkg:pypi/requests@2.32.0\n"
             "cpe:2.3:a:djangoproject:django:4.2.5:*:*:*:*:*:*:*\n")


def renkei(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    folder = tmp_path / "feeds"
    folder.mkdir()
    with zipfile.ZipFile(folder / "all.zip", "w") as archive:
        archive.writestr("PYSEC-2026-11.json", json.dumps(OSV))
        archive.writestr("broken.json", '{"id": "PYSEC-2026-12", "modified": ')
    (folder / "nvdcve-2.0-0000.json").write_text(json.dumps(NVD))
    (folder / "known_exploited_vulnerabilities.json").write_text(json.dumps(KEV))
    (folder / "epss_scores-2026-03-02.csv").write_text(EPSS)
    return folder


def test_import_match_and_reimport(renkei_home: Path, feeds: Path, tmp_path: Path) -> None:
    code, out, err = renkei("vulns", "import", str(feeds), "--json")
    assert code == 0, err
    counts = json.loads(out)
    assert counts["added"] == 2
    assert (counts["kev"], counts["epss"]) == (1, 2)
    assert counts["problems"] >= 1, "the truncated zip member is reported"
    again = json.loads(renkei("vulns", "import", str(feeds), "--json")[1])
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 2)

    inventory = tmp_path / "inventory.txt"
    inventory.write_text(INVENTORY)
    code, out, err = renkei("vulns", "match", "--inventory", str(inventory), "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["component"] for line in lines} == {
        "pkg:pypi/django@4.2.1", "cpe:2.3:a:djangoproject:django:4.2.5:*:*:*:*:*:*:*"}
    first = lines[0]
    assert {"component", "version", "vulnerability", "aliases", "cvss", "kev",
            "epss"} <= set(first)
    assert first["vulnerability"] == "CVE-2026-1111"
    assert "GHSA-abcd-efgh-ijkl" in first["aliases"]
    assert first["kev"] is True
    assert first["epss"] == pytest.approx(0.42)
    assert first["cvss"]["published_score"] == 9.1
    assert first["cvss"]["computed_score"] == 9.8, "the vector says 9.8: both are shown"

    code, out, _ = renkei("vulns", "show", "CVE-2026-1111", "--json")
    assert code == 0
    shown = json.loads(out)
    assert sorted(r["source"] for r in shown["records"]) == ["nvd", "osv"]
    code, out, _ = renkei("vulns", "show", "CVE-2026-1111")
    assert "KEV added 2026-03-02  Apply updates." in out, "a line, not a dict"
    assert "EPSS 0.420 (percentile 0.97) for CVE-2026-1111" in out
    code, out, _ = renkei("vulns", "advisory", "CVE-2026-1111", "--format", "osv")
    assert json.loads(out)["affected"][0]["package"]["name"] == "django"
    code, out, _ = renkei("vulns", "advisory", "CVE-2026-1111", "--format", "csaf")
    assert json.loads(out)["vulnerabilities"][0]["cve"] == "CVE-2026-1111"


def test_assets_alerts_and_coordination(renkei_home: Path, feeds: Path, tmp_path: Path) -> None:
    assert renkei("orgs", "add", "Example Bank", "--community", "finance")[0] == 0
    inventory = tmp_path / "requirements.txt"
    inventory.write_text("django==4.2.1\nrequests==2.32.0\n")
    code, out, err = renkei("vulns", "assets", "add", "--org", "Example Bank", "--name", "web",
                            str(inventory))
    assert code == 0, err
    assert out.split("\t")[-1].strip() == "0", "nothing imported yet"
    code, out, err = renkei("vulns", "import", str(feeds), "--json")
    assert json.loads(out)["alerts"] == 1
    code, out, _ = renkei("vulns", "alerts", "--org", "Example Bank", "--json")
    (alert,) = [json.loads(line) for line in out.splitlines()]
    assert alert["vulnerability"] == "CVE-2026-1111"
    assert alert["kev"] is True

    code, out, err = renkei("vulns", "cvd", "report", "--title", "XSS in admin",
                            "--vendor", "Example Corp", "--product", "CMS",
                            "--description", "reflected XSS")
    assert code == 0, err
    reference = out.strip()
    assert renkei("vulns", "cvd", "step", reference, "triage")[0] == 0
    code, _, err = renkei("vulns", "cvd", "step", reference, "publish")
    assert code == 2
    assert "cannot take the step publish" in err
    code, out, _ = renkei("vulns", "cvd", "show", reference)
    assert [line.split("\t")[1] for line in out.splitlines()[1:]] == ["report", "triage"]


def test_bad_paths_are_refused(renkei_home: Path, tmp_path: Path) -> None:
    code, _, err = renkei("vulns", "import", str(tmp_path / "missing"))
    assert code == 2
    assert "no such file" in err
    code, _, err = renkei("vulns", "match", "--inventory", str(tmp_path / "missing.txt"))
    assert code == 2
