"""CVE records in the CVE Program's JSON 5.x format (cvelistV5: one record a file).

A product named by purl, or by a package registry and name, becomes an OSV-style package
a matcher can compare versions for; any other stays a vendor/product pair with its
version text, as JVN's are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from renkei.vulns.feeds.detect import (
    BOM,
    MAX_ID,
    BadField,
    ident,
    items,
    load_json,
    obj,
    opt_obj,
    opt_text,
    problem,
    score,
    text,
    when,
)
from renkei.vulns.inventory_formats.identifiers import ecosystem_of, osv_name, parse_purl
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EventKind,
    ProductVersions,
    RangeEvent,
    Record,
    Severity,
    Source,
    VersionBound,
)

_MARK = re.compile(rb'"dataType"\s*:\s*"CVE_RECORD"|"cveMetadata"\s*:')
_DELTA = re.compile(rb'"(?:fetchTime|numberOfChanges)"\s*:')
_CWE = re.compile(r"CWE-\d{1,6}")
_CVSS = (("cvssV4_0", "CVSS_V4"), ("cvssV3_1", "CVSS_V3"), ("cvssV3_0", "CVSS_V3"), ("cvssV2_0", "CVSS_V2"))
_ANY = frozenset(("", "*", "0", "unspecified", "n/a", "-"))
# Registries a CNA names in collectionURL -> OSV ecosystem.
_COLLECTIONS = {
    "pypi.org": "PyPI", "pypi.python.org": "PyPI", "files.pythonhosted.org": "PyPI",
    "www.npmjs.com": "npm", "registry.npmjs.org": "npm", "npmjs.com": "npm",
    "repo.maven.apache.org": "Maven", "repo1.maven.org": "Maven", "central.sonatype.com": "Maven",
    "pkg.go.dev": "Go", "proxy.golang.org": "Go",
    "crates.io": "crates.io", "rubygems.org": "RubyGems", "www.nuget.org": "NuGet",
    "nuget.org": "NuGet", "packagist.org": "Packagist", "hex.pm": "Hex", "pub.dev": "Pub",
}
MAX_URL = 4096
MAX_NAME = 1000


def looks_like(head: bytes, name: str) -> bool:
    if _MARK.search(head):
        return True
    # cvelistV5's delta.json / deltaLog.json sit beside the records: known, and skipped.
    return name in ("delta.json", "deltaLog.json") and bool(_DELTA.search(head))


def read(data: bytes, location: str) -> Iterator[Record]:
    doc, bad = load_json(data.removeprefix(BOM), location)
    if bad is not None:
        yield bad
        return
    if type(doc) is list and location.endswith(("delta.json", "deltaLog.json")):
        return
    if type(doc) is dict and "cveMetadata" not in doc and "fetchTime" in doc:
        return  # a delta file: it lists changed files, which are read themselves
    for index, rec in enumerate(doc if type(doc) is list else [doc]):
        where = f"{location}#{index}" if type(doc) is list else location
        try:
            yield advisory(rec)
        except (BadField, TypeError, ValueError, KeyError, AttributeError) as exc:
            meta = rec.get("cveMetadata") if type(rec) is dict else None
            yield problem(where, meta.get("cveId") if type(meta) is dict else None, exc)


def advisory(rec: object) -> Advisory:
    r = obj(rec, "record")
    meta = obj(r.get("cveMetadata"), "cveMetadata")
    cve = ident(meta.get("cveId"), "cveMetadata.cveId")
    state = opt_text(meta.get("state"), "cveMetadata.state", 32)
    updated = when(meta.get("dateUpdated"), "cveMetadata.dateUpdated")
    published = when(meta.get("datePublished"), "cveMetadata.datePublished")
    withdrawn = None
    if state == "REJECTED":
        withdrawn = when(meta.get("dateRejected"), "cveMetadata.dateRejected") or updated or published
    containers = obj(r.get("containers"), "containers")
    cna = opt_obj(containers.get("cna"), "containers.cna")
    blocks = [("containers.cna", cna)]
    blocks += [("containers.adp[]", obj(a, "containers.adp[]")) for a in items(containers.get("adp"), "containers.adp")]
    texts: list[tuple[str, str]] = []
    severities: list[Severity] = []
    cwes: list[str] = []
    refs: list[str] = []
    packages: list[AffectedPackage] = []
    products: list[ProductVersions] = []
    for where, block in blocks:
        publisher = text(opt_obj(block.get("providerMetadata"), f"{where}.providerMetadata").get("shortName", ""), f"{where}.providerMetadata.shortName", MAX_ID)
        for d in items(block.get("descriptions"), f"{where}.descriptions"):
            d = obj(d, f"{where}.descriptions[]")
            texts.append((text(d.get("lang", ""), f"{where}.descriptions[].lang", 16), text(d.get("value"), f"{where}.descriptions[].value")))
        severities += _metrics(block.get("metrics"), f"{where}.metrics", publisher)
        cwes += _cwes(block.get("problemTypes"), f"{where}.problemTypes")
        refs += [text(obj(x, f"{where}.references[]").get("url"), f"{where}.references[].url", MAX_URL)
                 for x in items(block.get("references"), f"{where}.references")]
        for a in items(block.get("affected"), f"{where}.affected"):
            _affected(obj(a, f"{where}.affected[]"), f"{where}.affected[]", packages, products)
    language, details = _pick(texts)
    return Advisory(
        source=Source.CVE,
        id=cve,
        modified=updated or published,
        published=published,
        withdrawn=withdrawn,
        title=opt_text(cna.get("title"), "containers.cna.title", 1000) or "",
        details=details,
        severities=tuple(dict.fromkeys(severities)),
        packages=tuple(dict.fromkeys(packages)),
        products=tuple(dict.fromkeys(products)),
        cwes=tuple(dict.fromkeys(cwes)),
        references=tuple(dict.fromkeys(refs)),
        language=language,
        raw=r,
    )


def _pick(texts: list[tuple[str, str]]) -> tuple[str, str]:
    """English first (``en``, ``en-US`` …); else the first given, in its language."""
    for lang, value in texts:
        if lang.lower().startswith("en"):
            return "en", value
    return (texts[0][0][:2].lower() or "en", texts[0][1]) if texts else ("en", "")


def _metrics(value: object, where: str, publisher: str) -> list[Severity]:
    out = []
    for m in items(value, where):
        m = obj(m, f"{where}[]")
        for key, scheme in _CVSS:
            cvss = m.get(key)
            if cvss is not None:
                cvss = obj(cvss, f"{where}[].{key}")
                out.append(Severity(
                    scheme=scheme,
                    vector=text(cvss.get("vectorString"), f"{where}[].{key}.vectorString", 1000),
                    score=score(cvss.get("baseScore"), f"{where}[].{key}.baseScore"),
                    publisher=publisher,
                ))
    return out


def _cwes(value: object, where: str) -> list[str]:
    out = []
    for p in items(value, where):
        for d in items(obj(p, f"{where}[]").get("descriptions"), f"{where}[].descriptions"):
            d = obj(d, f"{where}[].descriptions[]")
            named = opt_text(d.get("cweId"), f"{where}[].descriptions[].cweId", 32)
            found = _CWE.match(named or text(d.get("description", ""), f"{where}[].descriptions[].description"))
            if found:
                out.append(found[0])
    return out


def _affected(a: dict[str, Any], where: str, packages: list[AffectedPackage], products: list[ProductVersions]) -> None:
    """A package when the registry is known, else a product; ``unaffected`` entries are
    read only to flag a product whose affected set they carve out of a default."""
    vendor = text(a.get("vendor", ""), f"{where}.vendor", MAX_ID)
    product = text(a.get("product", ""), f"{where}.product", MAX_NAME)
    versions = [obj(v, f"{where}.versions[]") for v in items(a.get("versions"), f"{where}.versions")]
    default = opt_text(a.get("defaultStatus"), f"{where}.defaultStatus", 32) or "unknown"
    repo = opt_text(a.get("repo"), f"{where}.repo", MAX_URL)
    for v in versions:
        for key in ("version", "lessThan", "lessThanOrEqual", "status", "versionType"):
            if key in v:
                ident(v[key], f"{where}.versions[].{key}")
    affected = [v for v in versions if v.get("status") == "affected"]
    carved = default == "affected" and any(v.get("status") == "unaffected" for v in versions)
    package = None if carved else _package(a, where)
    if package is not None:
        package = _ranges(package, affected, default, repo)
        if package.ranges or package.versions:
            packages.append(package)
        return
    cpes = [text(c, f"{where}.cpes[]", MAX_NAME) for c in items(a.get("cpes"), f"{where}.cpes")]
    name = product or text(a.get("packageName", ""), f"{where}.packageName", MAX_NAME)
    cpe = cpes[0] if cpes else None
    if carved:
        shown = "; ".join(_render(v) for v in versions[:20])
        products.append(ProductVersions(vendor, name, cpe, f"all versions except those unaffected: {shown}", parsed=False))
        return
    if not affected:
        if default == "affected":
            products.append(ProductVersions(vendor, name, cpe, "all versions"))
        elif default != "unaffected":
            products.append(ProductVersions(vendor, name, cpe, "", parsed=False))
        return
    exact = []
    for v in affected:
        version = v.get("version", "")
        upper, inclusive = v.get("lessThan"), False
        if upper is None:
            upper, inclusive = v.get("lessThanOrEqual"), True
        git = v.get("versionType") == "git"
        if upper is None and version not in _ANY and not git:
            exact.append(version)
            continue
        if upper is None or upper == "*":
            whole = version in _ANY and upper is None
            products.append(ProductVersions(
                vendor, name, cpe, _render(v),
                lower=None if version in _ANY else VersionBound(version, True),
                parsed=not whole and not git,
            ))
            continue
        products.append(ProductVersions(
            vendor, name, cpe, _render(v),
            lower=None if version in _ANY else VersionBound(version, True),
            upper=VersionBound(upper, inclusive),
            parsed=not git and "*" not in upper,
        ))
    if exact:
        products.append(ProductVersions(vendor, name, cpe, ", ".join(exact), exact=tuple(exact)))


def _render(v: dict[str, Any]) -> str:
    version = v.get("version", "")
    upper = v.get("lessThan") or v.get("lessThanOrEqual")
    sign = "<" if "lessThan" in v else "<="
    status = "" if v.get("status") == "affected" else f"{v.get('status')}: "
    if upper is None:
        return f"{status}{version}"
    if upper == "*":
        return f"{status}>= {version}"
    if version in _ANY:
        return f"{status}{sign} {upper}"
    return f"{status}>= {version}, {sign} {upper}"


def _package(a: dict[str, Any], where: str) -> AffectedPackage | None:
    purl_text = opt_text(a.get("packageURL"), f"{where}.packageURL", MAX_NAME)
    if purl_text:
        purl, _why = parse_purl(purl_text)
        ecosystem = ecosystem_of(purl) if purl is not None else None
        if purl is not None and ecosystem is not None:
            return AffectedPackage(ecosystem, osv_name(purl), purl_text)
    collection = opt_text(a.get("collectionURL"), f"{where}.collectionURL", MAX_URL)
    name = opt_text(a.get("packageName"), f"{where}.packageName", MAX_NAME)
    if collection and name:
        host = collection.split("://", 1)[-1].split("/", 1)[0].lower()
        ecosystem = _COLLECTIONS.get(host)
        if ecosystem is not None:
            return AffectedPackage(ecosystem, name)
    return None


def _ranges(package: AffectedPackage, affected: list[dict[str, Any]], default: str, repo: str | None) -> AffectedPackage:
    ranges = []
    exact = []
    for v in affected:
        version = v.get("version", "")
        upper, kind = v.get("lessThan"), EventKind.FIXED
        if upper is None:
            upper, kind = v.get("lessThanOrEqual"), EventKind.LAST_AFFECTED
        vtype = v.get("versionType")
        rtype = "GIT" if vtype == "git" and repo else "SEMVER" if vtype == "semver" else "ECOSYSTEM"
        if upper is None and version not in _ANY:
            exact.append(version)
            continue
        events = [RangeEvent(EventKind.INTRODUCED, "0" if version in _ANY else version)]
        if upper is not None and upper != "*":
            events.append(RangeEvent(kind, upper))
        ranges.append(AffectedRange(rtype, tuple(events), repo if rtype == "GIT" else None))
    if not affected and default == "affected":
        ranges.append(AffectedRange("ECOSYSTEM", (RangeEvent(EventKind.INTRODUCED, "0"),)))
    return AffectedPackage(package.ecosystem, package.name, package.purl, tuple(ranges), tuple(exact))
