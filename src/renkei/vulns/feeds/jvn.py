"""JVN iPedia: VULDEF XML (getVulnDetailInfo, jvndb_detail datafeeds) and JVNRSS / JVNDB RSS
(RSS 1.0 + mod_sec: getVulnOverviewList, jvndb_new.rdf …), read into ``Advisory`` records.

XML is parsed only through ``defusedxml`` with DTDs refused: JVN never sends one, and a
feed that does (entity bombs, external entities) is hostile and becomes a FeedProblem.
Elements are found by local name, so the vuldef namespace's http/https spellings both read.
Dates without an offset are taken as JST, the publisher's zone.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET  # only for the Element type and tostring: parsing is defusedxml's
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from renkei.vulns.cpe import formatted_or_none
from renkei.vulns.model import Advisory, FeedProblem, ProductVersions, Record, Severity, Source
from renkei.vulns.version_text import product_versions

MAX_TEXT = 64 * 1024
MAX_ID = 200
MAX_LIST = 1000
MAX_RAW_XML = 256 * 1024
JST = timezone(timedelta(hours=9))

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_CWE = re.compile(r"CWE-\d{1,6}")
_RECORD_ID = re.compile(r"[A-Za-z0-9#_.:\-]{1,200}")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]{1,40})[\"']")
_EXPAT_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "utf-16"}
_XML_DECL_TEXT = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._\-]{1,40}")
_SJIS = {"shift_jis", "shift_jis_2004", "shift_jisx0213"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


# ---------------------------------------------------------------------------------- sniffing


def looks_like(head: bytes, name: str) -> bool:
    """VULDEF or JVNRSS: the root element's name (or mod_sec's namespace) in the head."""
    text = _head_text(head)
    if "VULDEF-Document" in text:
        return True
    return "RDF" in text and "jvn.jp/rss/mod_sec" in text


def _head_text(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    if head[:4] == b"<\x00?\x00":
        return head[: len(head) // 2 * 2].decode("utf-16-le", errors="ignore")
    if head[:4] == b"\x00<\x00?":
        return head[: len(head) // 2 * 2].decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")  # the markers are ASCII: enough for any ASCII-compatible encoding


# ---------------------------------------------------------------------------------- parsing


def _to_expat(data: bytes) -> bytes:
    """Expat reads UTF-8/UTF-16/Latin-1 only: re-encode Shift_JIS, EUC-JP … as UTF-8 with
    the declaration amended, so a file that states its own encoding still reads."""
    m = _XML_DECL.match(data[:512])
    if m is None:
        return data
    enc = m.group(1).decode("ascii").lower()
    if enc in _EXPAT_ENCODINGS:
        return data
    codec = codecs.lookup(enc)  # LookupError: unknown encoding → the caller's problem
    try:
        text = data.decode(codec.name)
    except UnicodeDecodeError:
        if codec.name not in _SJIS:
            raise
        text = data.decode("cp932")  # Windows' superset: ①, Ⅱ … appear in Japanese feeds
    return _XML_DECL_TEXT.sub(r"\g<1>UTF-8", text, count=1).encode("utf-8")


def _parse(data: bytes) -> ET.Element:
    root: ET.Element = defused_fromstring(_to_expat(data), forbid_dtd=True)
    return root


def read(data: bytes, location: str) -> Iterator[Record]:
    """Every Vulinfo (VULDEF) or item (JVNRSS) as an Advisory; a bad one is a FeedProblem."""
    try:
        root = _parse(data)
    except DefusedXmlException as e:
        yield FeedProblem(location, None, f"refused hostile XML: {type(e).__name__}")
        return
    except ET.ParseError as e:
        yield FeedProblem(location, None, f"not well-formed XML: {e}"[:500])
        return
    except (LookupError, UnicodeError, ValueError) as e:
        yield FeedProblem(location, None, f"unreadable XML encoding: {e}"[:500])
        return
    except Exception as e:  # expat can fail in other ways on garbage; never raise
        yield FeedProblem(location, None, f"XML not readable: {type(e).__name__}: {e}"[:500])
        return
    kind = _local(root.tag)
    lang = _lang(root.get(_XML_LANG))
    if kind == "VULDEF-Document":
        yield from _read_vuldef(root, location, lang)
    elif kind == "RDF":
        yield from _read_rss(root, location, lang)
    else:
        yield FeedProblem(location, None, f"not a JVN feed: root element {kind[:80]!r}")


# ---------------------------------------------------------------------------------- VULDEF


def _read_vuldef(root: ET.Element, location: str, lang: str) -> Iterator[Record]:
    for i, vul in enumerate(_children(root, "Vulinfo")):
        where = f"{location}#Vulinfo[{i}]"
        rid = _text(_child(vul, "VulinfoID"))[:MAX_ID] or None
        try:
            yield _vulinfo(vul, rid, lang)
        except _BadRecordError as e:
            yield FeedProblem(where, rid, str(e))
        except Exception as e:  # a malformed element must not stop the feed
            yield FeedProblem(where, rid, f"unreadable Vulinfo: {type(e).__name__}: {e}"[:500])


class _BadRecordError(ValueError):
    """A record that breaks the format's rules (missing id …)."""


def _vulinfo(vul: ET.Element, rid: str | None, lang: str) -> Advisory:
    if not rid or not _RECORD_ID.fullmatch(rid):
        raise _BadRecordError(f"missing or malformed VulinfoID {rid!r}")
    data = _child(vul, "VulinfoData")
    if data is None:
        raise _BadRecordError("Vulinfo without VulinfoData")
    overview = _text(_child(_child(data, "VulinfoDescription"), "Overview"))
    impact = _child(data, "Impact")
    impact_text = "\n".join(_text(_child(it, "Description")) for it in _children(impact, "ImpactItem"))
    solution_text = "\n".join(
        _text(_child(it, "Description")) for it in _children(_child(data, "Solution"), "SolutionItem")
    )
    severities = tuple(
        s for s in (_vuldef_cvss(c) for c in _children(impact, "Cvss")[:20]) if s is not None
    )
    cves: list[str] = []
    cwes: list[str] = []
    refs: list[str] = []
    for item in _children(_child(data, "Related"), "RelatedItem")[:MAX_LIST]:
        kind = (item.get("type") or "").lower()
        vid = _text(_child(item, "VulinfoID"))
        url = _text(_child(item, "URL"))
        if kind == "cwe":
            if _CWE.fullmatch(vid):
                cwes.append(vid)
        elif _CVE.fullmatch(vid):
            cves.append(vid)
        if url and kind != "cwe":
            refs.append(url[:2048])
    products: list[ProductVersions] = []
    for ai in _children(_child(data, "Affected"), "AffectedItem")[:MAX_LIST]:
        vendor = _text(_child(ai, "Name"))
        product = _text(_child(ai, "ProductName"))
        cpe_el = _child(ai, "Cpe")
        cpe = formatted_or_none(_text(cpe_el)) if cpe_el is not None else None
        versions = [_text(v) for v in _children(ai, "VersionNumber")[:MAX_LIST]]
        for text in versions or [""]:
            products.append(product_versions(vendor, product, cpe, text))
            if len(products) >= MAX_LIST:
                break
    return Advisory(
        source=Source.JVN,
        id=rid,
        modified=_date(_text(_child(data, "DateLastUpdated"))),
        published=_date(_text(_child(data, "DateFirstPublished"))),
        aliases=_uniq(cves),
        title=_text(_child(data, "Title")),
        summary=overview,
        details="\n\n".join(p for p in (overview, impact_text, solution_text) if p)[:MAX_TEXT],
        severities=severities,
        products=tuple(products),
        cwes=_uniq(cwes),
        references=_uniq(refs),
        language=lang,
        raw={
            "format": "jvn-vuldef",
            "date_public": _text(_child(data, "DatePublic")),
            "xml": _raw_xml(vul),
        },
    )


def _vuldef_cvss(el: ET.Element) -> Severity | None:
    return _severity(
        el.get("version") or "",
        _text(_child(el, "Vector")),
        _text(_child(el, "Base")),
    )


# ---------------------------------------------------------------------------------- JVNRSS


def _read_rss(root: ET.Element, location: str, lang: str) -> Iterator[Record]:
    for i, item in enumerate(_children(root, "item")):
        where = f"{location}#item[{i}]"
        rid = _text(_child(item, "identifier"))[:MAX_ID] or None
        try:
            yield _rss_item(item, rid, lang)
        except _BadRecordError as e:
            yield FeedProblem(where, rid, str(e))
        except Exception as e:
            yield FeedProblem(where, rid, f"unreadable item: {type(e).__name__}: {e}"[:500])


def _rss_item(item: ET.Element, rid: str | None, lang: str) -> Advisory:
    if not rid or not _RECORD_ID.fullmatch(rid):
        raise _BadRecordError(f"missing or malformed sec:identifier {rid!r}")
    cves: list[str] = []
    cwes: list[str] = []
    refs: list[str] = []
    link = _text(_child(item, "link")) or (item.get(_RDF_ABOUT) or "").strip()
    if link:
        refs.append(link[:2048])
    for ref in _children(item, "references")[:MAX_LIST]:
        rid_attr = (ref.get("id") or "").strip()
        url = _text(ref)
        if _CVE.fullmatch(rid_attr):
            cves.append(rid_attr)
        elif _CWE.fullmatch(rid_attr):
            cwes.append(rid_attr)
            continue
        if url:
            refs.append(url[:2048])
    products = [
        product_versions(c.get("vendor") or "", c.get("product") or "", formatted_or_none(_text(c)), "")
        for c in _children(item, "cpe")[:MAX_LIST]
    ]
    severities = tuple(
        s
        for s in (
            _severity(c.get("version") or "", c.get("vector") or "", c.get("score") or "")
            for c in _children(item, "cvss")[:20]
        )
        if s is not None
    )
    description = _text(_child(item, "description"))
    modified = _date(_text(_child(item, "modified"))) or _date(_text(_child(item, "date")))
    return Advisory(
        source=Source.JVN,
        id=rid,
        modified=modified,
        published=_date(_text(_child(item, "issued"))),
        aliases=_uniq(cves),
        title=_text(_child(item, "title")),
        summary=description,
        severities=severities,
        products=tuple(products),
        cwes=_uniq(cwes),
        references=_uniq(refs),
        language=lang,
        raw={"format": "jvn-rss", "xml": _raw_xml(item)},
    )


# ---------------------------------------------------------------------------------- shared


def _severity(version: str, vector: str, score: str) -> Severity | None:
    """CVSS as JVN gives it; v3/v4 vectors get their ``CVSS:x.y/`` prefix when bare."""
    version = version.strip()
    vector = vector.strip()[:512]
    if not vector and not score.strip():
        return None
    try:
        value: float | None = float(score)
    except ValueError:
        value = None
    if value is not None and not 0.0 <= value <= 10.0:
        value = None
    if version.startswith("2") or (not version and vector.startswith("AV:") and "Au:" in vector):
        return Severity("CVSS_V2", vector or None, value, "JVN")
    major = version.split(".")[0] if version else ""
    if major in ("3", "4"):
        if vector and not vector.startswith("CVSS:"):
            vector = f"CVSS:{version}/{vector}"
        return Severity(f"CVSS_V{major}", vector or None, value, "JVN")
    if vector.startswith("CVSS:3"):
        return Severity("CVSS_V3", vector, value, "JVN")
    if vector.startswith("CVSS:4"):
        return Severity("CVSS_V4", vector, value, "JVN")
    return None


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    if el is None:
        return []
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    return "".join(el.itertext()).strip()[:MAX_TEXT]


def _date(text: str) -> datetime | None:
    """ISO 8601 as JVN writes it (``2025-04-11T23:52+09:00`` too); naive means JST."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    try:
        d = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo is not None else d.replace(tzinfo=JST)


def _lang(value: str | None) -> str:
    v = (value or "ja").strip().lower()[:16]
    return v.split("-")[0] or "ja"


def _uniq(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))[:MAX_LIST]


def _raw_xml(el: ET.Element) -> str:
    text = ET.tostring(el, encoding="unicode")
    return text if len(text) <= MAX_RAW_XML else ""
