"""CSAF 2.0 advisories (OASIS) read into ``Advisory`` records.

Mapping decisions:

- One Advisory per CSAF document, id = ``document.tracking.id``; aliases = every
  ``vulnerabilities[].cve`` (and ``ids[].text``): the store merges records by CVE.
- products/packages = the union, over all vulnerabilities, of ``known_affected``,
  ``first_affected`` and ``last_affected``; ``fixed``, ``first_fixed``, ``known_not_affected``,
  ``recommended`` and ``under_investigation`` products are left out. In a document with
  several vulnerabilities a product affected by one CVE is thus listed for all of them;
  the per-vulnerability product status is kept in ``raw["vulnerabilities"]`` so a
  matcher can be exact when it needs to.
- A product named by purl becomes an ``AffectedPackage`` (its version, or a ``vers:``
  range from the branch, as OSV-style events); one named by CPE or only by the branch
  path (vendor → product_name → product_version / product_version_range) becomes a
  ``ProductVersions``. ``first_affected`` / ``last_affected`` turn a single version into
  an inclusive lower / upper bound.
- Scores: ``scores[].cvss_v3`` / ``cvss_v2`` → Severity, publisher = ``document.publisher.name``.

``validate_csaf`` checks a document against the official OASIS CSAF 2.0 JSON schema as
shipped in the ``csaf-lib`` package (Red Hat Product Security, MIT); no schema is vendored.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from packageurl import PackageURL

from renkei.vulns.cpe import formatted_or_none
from renkei.vulns.inventory_formats.identifiers import ecosystem_of, osv_name
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EventKind,
    FeedProblem,
    ProductVersions,
    RangeEvent,
    Record,
    Severity,
    Source,
    VersionBound,
)
from renkei.vulns.version_text import product_versions

MAX_TEXT = 64 * 1024
MAX_ID = 200
MAX_LIST = 2000
MAX_DEPTH = 30  # product tree branches
MAX_RAW = 1024 * 1024
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_CWE = re.compile(r"CWE-\d{1,6}")

_AFFECTED = ("known_affected", "first_affected", "last_affected")
_STATUSES = (
    "known_affected",
    "first_affected",
    "last_affected",
    "fixed",
    "first_fixed",
    "known_not_affected",
    "recommended",
    "under_investigation",
)

def looks_like(head: bytes, name: str) -> bool:
    """A JSON object whose head names CSAF's ``csaf_version`` (or ``document.category``)."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not h.startswith((b"{", b"[")):
        return False
    return b'"csaf_version"' in h or (b'"document"' in h and b'"tracking"' in h and b'"category"' in h)


def read(data: bytes, location: str) -> Iterator[Record]:
    """One Advisory per CSAF document (a JSON object, or an array of them)."""
    try:
        doc: Any = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        yield FeedProblem(location, None, f"not JSON: {e}"[:500])
        return
    except Exception as e:  # never raise
        yield FeedProblem(location, None, f"not readable: {type(e).__name__}"[:500])
        return
    docs = doc if isinstance(doc, list) else [doc]
    for i, d in enumerate(docs[:100_000]):
        where = location if not isinstance(doc, list) else f"{location}#[{i}]"
        rid = _tracking_id(d)
        try:
            yield _advisory(d, rid)
        except _BadRecordError as e:
            yield FeedProblem(where, rid, str(e))
        except Exception as e:  # a malformed part must not stop the feed
            yield FeedProblem(where, rid, f"unreadable CSAF document: {type(e).__name__}: {e}"[:500])


class _BadRecordError(ValueError):
    """A document that breaks CSAF's required structure."""


def _tracking_id(d: Any) -> str | None:
    tid = _get(d, "document", "tracking", "id")
    return tid.strip()[:MAX_ID] if isinstance(tid, str) and tid.strip() else None


def _advisory(d: Any, rid: str | None) -> Advisory:
    if not isinstance(d, dict) or not isinstance(d.get("document"), dict):
        raise _BadRecordError("not a CSAF document: no 'document' object")
    if rid is None:
        raise _BadRecordError("document.tracking.id missing")
    document = d["document"]
    tracking = _dict(document.get("tracking"))
    publisher = _str(_get(document, "publisher", "name"))[:MAX_ID]
    summary_parts: list[str] = []
    detail_parts: list[str] = []
    _notes(document.get("notes"), summary_parts, detail_parts)
    refs = [_str(r.get("url")) for r in _dicts(document.get("references"))]

    products = _product_tree(_dict(d.get("product_tree")))
    aliases: list[str] = []
    cwes: list[str] = []
    severities: list[Severity] = []
    affected: dict[str, str] = {}  # product_id → status (first one wins)
    raw_vulns: list[dict[str, Any]] = []
    for v in _dicts(d.get("vulnerabilities")):
        cve = _str(v.get("cve")).strip()
        if _CVE.fullmatch(cve):
            aliases.append(cve)
        for ident in _dicts(v.get("ids")):
            text = _str(ident.get("text")).strip()
            if text and len(text) <= MAX_ID:
                aliases.append(text)
        cwe = _str(_get(v, "cwe", "id"))
        if _CWE.fullmatch(cwe):
            cwes.append(cwe)
        _notes(v.get("notes"), summary_parts, detail_parts)
        refs.extend(_str(r.get("url")) for r in _dicts(v.get("references")))
        for score in _dicts(v.get("scores")):
            for key, scheme in (("cvss_v3", "CVSS_V3"), ("cvss_v2", "CVSS_V2")):
                sev = _cvss(score.get(key), scheme, publisher)
                if sev is not None:
                    severities.append(sev)
        status = _dict(v.get("product_status"))
        for st in _AFFECTED:
            for pid in _strs(status.get(st)):
                affected.setdefault(pid, st)
        raw_vulns.append(
            {
                "cve": cve or None,
                "title": _str(v.get("title"))[:1024],
                **{st: _strs(status.get(st))[:MAX_LIST] for st in _STATUSES if status.get(st)},
            }
        )

    packages: list[AffectedPackage] = []
    prods: list[ProductVersions] = []
    for pid, st in list(affected.items())[:MAX_LIST]:
        info = products.get(pid)
        if info is None:
            prods.append(ProductVersions(vendor="", product=pid[:1024], text="", parsed=False))
            continue
        pkg = _package(info, st)
        if pkg is not None:
            packages.append(pkg)
        else:
            prods.append(_product(info, st))

    raw: dict[str, Any] = {"format": "csaf", "vulnerabilities": raw_vulns[:MAX_LIST]}
    try:
        if len(orjson.dumps(d)) <= MAX_RAW:
            raw["document"] = d
    except (TypeError, orjson.JSONEncodeError):
        pass
    lang = _str(document.get("lang")).split("-")[0].lower()[:8] or "en"
    return Advisory(
        source=Source.CSAF,
        id=rid,
        modified=_date(tracking.get("current_release_date")),
        published=_date(tracking.get("initial_release_date")),
        aliases=_uniq(a for a in aliases if a != rid),
        title=_str(document.get("title"))[:MAX_TEXT],
        summary="\n\n".join(summary_parts)[:MAX_TEXT],
        details="\n\n".join(detail_parts)[:MAX_TEXT],
        severities=tuple(dict.fromkeys(severities)),
        packages=tuple(dict.fromkeys(packages)),
        products=tuple(dict.fromkeys(prods)),
        cwes=_uniq(cwes),
        references=_uniq(r[:2048] for r in refs if r),
        language=lang,
        raw=raw,
    )


# ---------------------------------------------------------------------------------- product tree


def _product_tree(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """product_id → {name, helper, vendor, product, version, version_range}."""
    out: dict[str, dict[str, Any]] = {}

    def walk(branches: Any, path: dict[str, str], depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for b in _dicts(branches)[:MAX_LIST]:
            here = dict(path)
            cat, name = _str(b.get("category")), _str(b.get("name"))[:1024]
            if cat in ("vendor", "product_name", "product_version", "product_version_range", "product_family"):
                here[cat] = name
            fpn = _dict(b.get("product"))
            pid = _str(fpn.get("product_id"))
            if pid and len(out) < 10 * MAX_LIST:
                out[pid] = _entry(fpn, here)
            walk(b.get("branches"), here, depth + 1)

    walk(tree.get("branches"), {}, 0)
    for fpn in _dicts(tree.get("full_product_names"))[:MAX_LIST]:
        pid = _str(fpn.get("product_id"))
        if pid:
            out.setdefault(pid, _entry(fpn, {}))
    for rel in _dicts(tree.get("relationships"))[:MAX_LIST]:
        fpn = _dict(rel.get("full_product_name"))
        pid = _str(fpn.get("product_id"))
        component = out.get(_str(rel.get("product_reference")))
        if pid and pid not in out:
            # the component is what carries the flaw: "X as a component of Y" matches X
            out[pid] = dict(component) if component else _entry(fpn, {})
    return out


def _entry(fpn: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
    return {
        "name": _str(fpn.get("name"))[:1024],
        "helper": _dict(fpn.get("product_identification_helper")),
        "vendor": path.get("vendor", ""),
        "product": path.get("product_name") or path.get("product_family", ""),
        "version": path.get("product_version"),
        "version_range": path.get("product_version_range"),
    }


def _package(info: dict[str, Any], status: str) -> AffectedPackage | None:
    """A product named by purl, as OSV names packages."""
    purl_s = _str(info["helper"].get("purl")).strip()
    if not purl_s or len(purl_s) > 2048:
        return None
    try:
        purl = PackageURL.from_string(purl_s)
    except ValueError:
        return None
    name = osv_name(purl)
    ecosystem = ecosystem_of(purl) or purl.type
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()
    vr = info.get("version_range")
    if vr:
        events = _vers_events(vr)
        if events is None:
            return None  # a range we cannot state as events: keep it as prose (ProductVersions)
        ranges = (AffectedRange("ECOSYSTEM", events),) if events else ()
    version = purl.version or info.get("version")
    if version and not ranges:
        if status == "first_affected":
            ranges = (AffectedRange("ECOSYSTEM", (RangeEvent(EventKind.INTRODUCED, version),)),)
        elif status == "last_affected":
            ranges = (
                AffectedRange(
                    "ECOSYSTEM",
                    (RangeEvent(EventKind.INTRODUCED, "0"), RangeEvent(EventKind.LAST_AFFECTED, version)),
                ),
            )
        else:
            versions = (version,)
    bare = PackageURL(type=purl.type, namespace=purl.namespace, name=purl.name).to_string()
    return AffectedPackage(ecosystem=ecosystem, name=name, purl=bare, ranges=ranges, versions=versions)


def _vers(text: str) -> list[tuple[str, str]] | None:
    """A ``vers:`` string's (comparator, version) list, via univers; None when not vers."""
    if not text.startswith("vers:"):
        return None
    from univers.version_range import VersionRange  # heavy import: only when a range is given

    try:
        vr = VersionRange.from_string(text)  # type: ignore[no-untyped-call]
    except Exception:  # univers raises many kinds on bad input
        return None
    out = [(c.comparator, str(c.version)) for c in vr.constraints]
    if any(comp == "*" for comp, _ in out):
        return []  # vers:<scheme>/* : every version
    return out


def _vers_events(text: str) -> tuple[RangeEvent, ...] | None:
    cons = _vers(text)
    if cons is None:
        return None
    events: list[RangeEvent] = []
    open_interval = False
    for comp, ver in cons:
        if comp == ">=":
            events.append(RangeEvent(EventKind.INTRODUCED, ver))
            open_interval = True
        elif comp in ("<", "<="):
            if not open_interval:
                events.append(RangeEvent(EventKind.INTRODUCED, "0"))
            events.append(RangeEvent(EventKind.FIXED if comp == "<" else EventKind.LAST_AFFECTED, ver))
            open_interval = False
        else:
            return None  # "=", ">" and "!=" have no OSV event
    return tuple(events) if cons else (RangeEvent(EventKind.INTRODUCED, "0"),)


def _product(info: dict[str, Any], status: str) -> ProductVersions:
    """A product named by CPE or by its branch path, its version text read for bounds."""
    helper = info["helper"]
    cpe_raw = _str(helper.get("cpe")).strip()
    cpe = formatted_or_none(cpe_raw) if cpe_raw else None
    vendor = info["vendor"]
    product = info["product"] or info["name"]
    vr, version = info.get("version_range"), info.get("version")
    if cpe and (not vendor or not product):
        parts = re.split(r"(?<!\\):", cpe)
        vendor = vendor or parts[3].replace("\\", "")
        product = product or parts[4].replace("\\", "")
        if not vr and not version and parts[5] not in ("*", "-"):
            version = parts[5].replace("\\", "")
    if vr:
        cons = _vers(vr)
        if cons is None:
            return product_versions(vendor, product, cpe, vr)
        return _vers_product(vendor, product, cpe, vr, cons)
    if version:
        pv = product_versions(vendor, product, cpe, version)
        if pv.parsed and pv.exact and len(pv.exact) == 1 and pv.lower is None and pv.upper is None:
            if status == "first_affected":
                return ProductVersions(vendor, product, cpe, version, lower=VersionBound(pv.exact[0], True))
            if status == "last_affected":
                return ProductVersions(vendor, product, cpe, version, upper=VersionBound(pv.exact[0], True))
        return pv
    return ProductVersions(vendor, product, cpe, "", parsed=False)


def _vers_product(
    vendor: str, product: str, cpe: str | None, text: str, cons: list[tuple[str, str]]
) -> ProductVersions:
    lower: VersionBound | None = None
    upper: VersionBound | None = None
    exact: list[str] = []
    for comp, ver in cons:
        if comp in (">=", ">") and lower is None and upper is None:
            lower = VersionBound(ver, comp == ">=")
        elif comp in ("<", "<=") and upper is None:
            upper = VersionBound(ver, comp == "<=")
        elif comp == "=":
            exact.append(ver)
        else:
            return ProductVersions(vendor, product, cpe, text, parsed=False)  # several intervals
    return ProductVersions(vendor, product, cpe, text, lower, upper, tuple(exact), True)


# ---------------------------------------------------------------------------------- validation


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from importlib.resources import files

    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource

    # csaf-lib ships the OASIS CSAF 2.0 schema and the CVSS schemas it references
    schemas = files("csaf_lib.verification.schemas")  # ModuleNotFoundError when not installed

    def load(name: str) -> Any:
        return json.loads((schemas / name).read_text(encoding="utf-8"))

    registry: Registry[Any] = Registry()
    for name, uri in (
        ("cvss_v2_0.json", "https://www.first.org/cvss/cvss-v2.0.json"),
        ("cvss_v3_0.json", "https://www.first.org/cvss/cvss-v3.0.json"),
        ("cvss_v3_1.json", "https://www.first.org/cvss/cvss-v3.1.json"),
    ):  # registered under the URIs the CSAF schema's $refs use
        registry = registry.with_resource(uri, Resource.from_contents(load(name)))
    schema = load("csaf_2_0.json")
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate_csaf(doc: dict[str, Any]) -> list[str]:
    """Schema errors of a CSAF 2.0 document (``path: message``; empty when valid).

    The schema is OASIS's own, as the ``csaf-lib`` package ships it; references resolve
    only against its bundled CVSS schemas, never over the network. CSAF's further
    mandatory tests (section 6.1) are not run here."""
    try:
        validator = _validator()
    except (ImportError, OSError):
        return ["CSAF 2.0 schema unavailable: the csaf-lib package is not installed"]
    errors: list[str] = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = "/".join(str(p) for p in err.absolute_path) or "(document)"
        errors.append(f"{path}: {err.message}"[:1000])
        if len(errors) >= 100:
            break
    return errors


# ---------------------------------------------------------------------------------- helpers


def _cvss(obj: Any, scheme: str, publisher: str) -> Severity | None:
    if not isinstance(obj, dict):
        return None
    vector = _str(obj.get("vectorString")).strip()[:512] or None
    score = obj.get("baseScore")
    value = float(score) if isinstance(score, int | float) and 0 <= score <= 10 else None
    if vector is None and value is None:
        return None
    return Severity(scheme, vector, value, publisher)


def _notes(notes: Any, summary: list[str], details: list[str]) -> None:
    for n in _dicts(notes)[:MAX_LIST]:
        text = _str(n.get("text")).strip()
        if not text:
            continue
        if n.get("category") == "summary":
            summary.append(text[:MAX_TEXT])
        elif n.get("category") in ("description", "details", "general"):
            details.append(text[:MAX_TEXT])


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _dicts(v: Any) -> list[dict[str, Any]]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _strs(v: Any) -> list[str]:
    return [x for x in v if isinstance(x, str) and x][:MAX_LIST] if isinstance(v, list) else []


def _uniq(items: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))[:MAX_LIST]
