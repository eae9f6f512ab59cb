"""Advisory feeds and members' inventories for the demo, shaped as the real feeds are.

A few hundred advisories: OSV records for fictional PyPI, npm, Maven and Go packages and
NVD API 2.0 CVEs for fictional products (CPE names), with CVSS 3.1 vectors; CISA KEV
entries and FIRST EPSS scores for some of them. Ids use the year 2099 (``CVE-2099-…``,
``DEMO-2099-…``) so that no demo advisory can be taken for a real one. The feeds come in
batches published over the month; members' inventories hold some vulnerable versions.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from renkei.demo.cast import MEMBERS, Member

#: (days before now) each batch of advisories is published and imported
BATCH_DAYS = (29, 21, 14, 7, 1)
OSV_PER_BATCH = 40
NVD_PER_BATCH = 24
CVSS = (
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8, "HIGH"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "HIGH"),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "HIGH"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "MEDIUM"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3, "MEDIUM"),
    ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", 2.5, "LOW"),
)
FLAWS = (
    ("SQL injection in the query builder", "CWE-89"),
    ("cross-site scripting in rendered templates", "CWE-79"),
    ("path traversal when extracting archives", "CWE-22"),
    ("out-of-bounds write when parsing headers", "CWE-787"),
    ("authentication bypass with a crafted token", "CWE-287"),
    ("server-side request forgery through redirects", "CWE-918"),
    ("denial of service through deeply nested input", "CWE-400"),
    ("deserialisation of untrusted data", "CWE-502"),
    ("OS command injection in the diagnostics page", "CWE-78"),
    ("improper certificate validation", "CWE-295"),
)


@dataclass(frozen=True)
class Package:
    ecosystem: str
    name: str
    purl_type: str
    current: tuple[int, int]  # (major, minor) of the line members run


PACKAGES = (
    Package("PyPI", "kumo-http", "pypi", (2, 4)), Package("PyPI", "yuki-orm", "pypi", (1, 9)),
    Package("PyPI", "hoshi-crypto", "pypi", (3, 1)), Package("PyPI", "tsubame-yaml", "pypi", (6, 0)),
    Package("PyPI", "sango-auth", "pypi", (0, 14)), Package("npm", "sakura-router", "npm", (4, 2)),
    Package("npm", "tsuki-jwt", "npm", (9, 0)), Package("npm", "hana-markdown", "npm", (12, 3)),
    Package("npm", "koi-upload", "npm", (1, 7)), Package("npm", "ume-sanitize", "npm", (2, 11)),
    Package("Maven", "org.demo.kumo:kumo-xml", "maven", (2, 17)),
    Package("Maven", "org.demo.yama:yama-logging", "maven", (2, 20)),
    Package("Go", "example.com/demo/nami-dns", "golang", (1, 5)),
)


@dataclass(frozen=True)
class Product:
    part: str
    vendor: str
    product: str
    current: tuple[int, int]


PRODUCTS = (
    Product("a", "acme", "web_gateway", (7, 2)), Product("o", "acme", "vpn_appliance_os", (9, 4)),
    Product("a", "hoshizora", "mail_server", (5, 0)), Product("o", "kumoya", "router_firmware", (3, 8)),
    Product("a", "example_soft", "groupware", (11, 1)), Product("a", "fuji_demo", "file_transfer", (4, 6)),
    Product("a", "sakuranet", "load_balancer", (16, 2)), Product("a", "tsuru", "cms", (8, 3)),
)


def _purl(p: Package, version: str) -> str:
    if p.purl_type == "maven":
        group, artifact = p.name.split(":")
        return f"pkg:maven/{group}/{artifact}@{version}"
    return f"pkg:{p.purl_type}/{p.name}@{version}"


def _purl_name(p: Package) -> str:
    return _purl(p, "0").rsplit("@", 1)[0]


def _cpe(p: Product, version: str) -> str:
    return f"cpe:2.3:{p.part}:{p.vendor}:{p.product}:{version}:*:*:*:*:*:*:*"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Batch:
    """One import: the feed files (name → bytes) and the moment it is published."""

    published: datetime
    files: dict[str, bytes]
    cves: tuple[str, ...]


def _fixed(rng: random.Random, current: tuple[int, int]) -> str:
    """A fixed version: some on the line members run (older patches are affected), a few
    in a newer release, most on older lines (members are not affected)."""
    major, minor = current
    roll = rng.random()
    if roll < 0.3:
        return f"{major}.{minor}.{rng.randint(3, 9)}"
    if roll < 0.38:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{max(0, minor - rng.randint(1, 3))}.{rng.randint(1, 9)}"


def osv_record(n: int, rng: random.Random, published: datetime) -> dict[str, Any]:
    package = PACKAGES[n % len(PACKAGES)]
    flaw, cwe = FLAWS[rng.randrange(len(FLAWS))]
    vector = CVSS[rng.randrange(len(CVSS))][0]
    stamp = _stamp(published)
    return {
        "schema_version": "1.6.0", "id": f"DEMO-2099-{n:04d}", "modified": stamp,
        "published": stamp, "aliases": [f"CVE-2099-{20000 + n}"],
        "summary": f"{package.name}: {flaw} (demo advisory)",
        "details": f"Synthetic advisory for the renkei demo: {package.name} before the fixed "
                   f"version is affected by {flaw}.",
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [{"package": {"ecosystem": package.ecosystem, "name": package.name,
                                  "purl": _purl_name(package)},
                      "ranges": [{"type": "ECOSYSTEM", "events": [
                          {"introduced": "0"}, {"fixed": _fixed(rng, package.current)}]}]}],
        "references": [{"type": "ADVISORY", "url": f"https://advisories.demo.example/{n}"}],
        "database_specific": {"cwe_ids": [cwe]},
    }


def nvd_cve(n: int, rng: random.Random, published: datetime) -> dict[str, Any]:
    product = PRODUCTS[n % len(PRODUCTS)]
    flaw, cwe = FLAWS[rng.randrange(len(FLAWS))]
    vector, score, severity = CVSS[rng.randrange(len(CVSS))]
    stamp = published.strftime("%Y-%m-%dT%H:%M:%S.000")
    criteria = f"cpe:2.3:{product.part}:{product.vendor}:{product.product}:*:*:*:*:*:*:*:*"
    return {"cve": {
        "id": f"CVE-2099-{10000 + n}", "sourceIdentifier": "demo@renkei.example",
        "published": stamp, "lastModified": stamp, "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": f"{product.vendor} {product.product}: "
                                                 f"{flaw} (synthetic demo CVE)."}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
            "version": "3.1", "vectorString": vector, "baseScore": score,
            "baseSeverity": severity}}]},
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                        "description": [{"lang": "en", "value": cwe}]}],
        "configurations": [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": True, "criteria": criteria,
             "versionEndExcluding": _fixed(rng, product.current),
             "matchCriteriaId": f"{n:08X}-DE00-4000-8000-000000000000"}]}]}],
        "references": [{"url": f"https://vendor.demo.example/security/{n}",
                        "source": "demo@renkei.example"}]}}


def _nvd_page(items: list[dict[str, Any]], published: datetime) -> bytes:
    return json.dumps({"resultsPerPage": len(items), "startIndex": 0,
                       "totalResults": len(items), "format": "NVD_CVE", "version": "2.0",
                       "timestamp": published.strftime("%Y-%m-%dT%H:%M:%S.000"),
                       "vulnerabilities": items}).encode()


def _kev(cves: list[str], published: datetime, rng: random.Random) -> bytes:
    entries = [{"cveID": cve, "vendorProject": "Demo", "product": "Demo product",
                "vulnerabilityName": "Demo known-exploited vulnerability",
                "dateAdded": published.strftime("%Y-%m-%d"),
                "shortDescription": "Synthetic entry for the renkei demo.",
                "requiredAction": "Apply the vendor's update.",
                "dueDate": (published + timedelta(days=21)).strftime("%Y-%m-%d"),
                "knownRansomwareCampaignUse": "Known" if rng.random() < 0.3 else "Unknown",
                "notes": ""} for cve in cves]
    return json.dumps({"title": "Known Exploited Vulnerabilities Catalog (demo)",
                       "catalogVersion": published.strftime("%Y.%m.%d"),
                       "dateReleased": _stamp(published), "count": len(entries),
                       "vulnerabilities": entries}).encode()


def _epss(cves: list[str], published: datetime, rng: random.Random) -> bytes:
    out = io.StringIO()
    out.write(f"#model_version:v2025.03.14,score_date:{published:%Y-%m-%d}T00:00:00+0000\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cve", "epss", "percentile"])
    for cve in cves:
        score = min(0.97, rng.betavariate(0.4, 6))
        writer.writerow([cve, f"{score:.5f}", f"{min(0.999, score * 3 + 0.2):.5f}"])
    return out.getvalue().encode()


def batches(now: datetime, seed: int = 2099) -> list[Batch]:
    """The feed files of each batch, oldest first: OSV records, an NVD page, EPSS scores,
    and (from the second batch on) KEV entries for some of the CVEs already published."""
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not cryptography)
    out: list[Batch] = []
    every: list[str] = []
    for index, days in enumerate(BATCH_DAYS):
        published = (now - timedelta(days=days)).replace(microsecond=0)
        osv = [osv_record(index * OSV_PER_BATCH + i, rng, published)
               for i in range(OSV_PER_BATCH)]
        nvd = [nvd_cve(index * NVD_PER_BATCH + i, rng, published) for i in range(NVD_PER_BATCH)]
        cves = [r["aliases"][0] for r in osv] + [v["cve"]["id"] for v in nvd]
        every += cves
        files = {f"osv-{index}.json": json.dumps(osv).encode(),
                 f"nvdcve-2.0-{index}.json": _nvd_page(nvd, published),
                 f"epss-{index}.csv": _epss(every, published, rng)}
        if index:
            files[f"kev-{index}.json"] = _kev(rng.sample(every, 4 + index), published, rng)
        out.append(Batch(published, files, tuple(cves)))
    return out


def inventory(member: Member, index: int) -> tuple[str, str]:
    """A member's asset: (name, purl and CPE lines); older patch levels on purpose, so
    some advisories match."""
    rng = random.Random(index)  # noqa: S311  (synthetic data, not cryptography)
    lines = []
    for package in PACKAGES[index % 3::2]:
        major, minor = package.current
        lines.append(_purl(package, f"{major}.{minor}.{rng.randint(0, 4)}"))
    for product in PRODUCTS[index % 2::2]:
        major, minor = product.current
        lines.append(_cpe(product, f"{major}.{minor}.{rng.randint(0, 5)}"))
    return f"{member.slug} internet services", "\n".join(lines) + "\n"


def inventories() -> list[tuple[Member, str, str]]:
    """(member, asset name, inventory text) for every member."""
    return [(m, *inventory(m, i)) for i, m in enumerate(MEMBERS)]
