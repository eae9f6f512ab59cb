"""CPE 2.3 names: parse (unbind) the formatted string, read 2.2 URIs, and compare.

Hand-written on purpose: NISTIR 7695 (naming) and 7696 (name matching) are short and
exact, and the PyPI ``cpe`` package (LGPL, untyped, one object per attribute) is far too
slow for matching a quarter-million NVD configurations per inventory.

A parsed name is a tuple of 11 attribute values in WFN order. Each value is ``ANY``
(``*``), ``NA`` (``-``), a literal (unescaped, lower-case), or — in a pattern such as
NVD's criteria — a ``Wildcard`` for values holding unquoted ``*``/``?``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import unquote

__all__ = [
    "ANY",
    "ATTRIBUTES",
    "NA",
    "CpeName",
    "Wildcard",
    "attribute_match",
    "format_value",
    "formatted_or_none",
    "name_match",
    "parse",
    "parse_uri",
    "to_formatted",
]

ATTRIBUTES: Final = (
    "part", "vendor", "product", "version", "update", "edition",
    "language", "sw_edition", "target_sw", "target_hw", "other",
)  # fmt: skip
PART, VENDOR, PRODUCT, VERSION = 0, 1, 2, 3


class _Logical(str):
    """ANY / NA: distinct objects, so a literal value spelled ``*`` is not ANY."""

    __slots__ = ()


ANY: Final = _Logical("*")
NA: Final = _Logical("-")


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A value with unquoted ``*``/``?``: matches literal target values by pattern."""

    text: str  # as bound in the formatted string
    pattern: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None


Value = str | Wildcard
CpeName = tuple[Value, ...]  # 11 values, WFN order


_PLAIN = re.compile(r"[^\\*?]+")  # no escape, no wildcard: the value is its own lower case


def _unbind_value(raw: str) -> Value:
    """One formatted-string component → ANY, NA, a literal or a Wildcard (NISTIR 7695 §6.2.3)."""
    if raw == "*":
        return ANY
    if raw == "-":
        return NA
    if _PLAIN.fullmatch(raw):  # most values: the character loop below would give the same
        return raw.lower()
    out: list[str] = []
    regex: list[str] = []
    wild = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if i + 1 >= len(raw):
                raise ValueError(f"dangling escape in CPE value {raw!r}")
            out.append(raw[i + 1].lower())
            regex.append(re.escape(raw[i + 1].lower()))
            i += 2
            continue
        if c == "*":
            if 0 < i < len(raw) - 1:
                raise ValueError(f"embedded unquoted '*' in CPE value {raw!r}")
            wild = True
            regex.append(".*")
        elif c == "?":
            wild = True
            regex.append(".")
        else:
            out.append(c.lower())
            regex.append(re.escape(c.lower()))
        i += 1
    if wild:
        return Wildcard(raw, re.compile("".join(regex), re.DOTALL))
    text = "".join(out)
    if not text:
        raise ValueError("empty CPE value")
    return text


def _split_fs(body: str) -> list[str]:
    """Split on unescaped colons; a backslash always takes the next character."""
    if "\\" not in body:  # nothing escaped (nearly every name): the per-character walk is moot
        return body.split(":")
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            cur.append(body[i : i + 2])
            i += 2
            continue
        if c == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


@lru_cache(maxsize=1 << 17)
def parse(name: str) -> CpeName:
    """Unbind a CPE 2.3 formatted string (``cpe:2.3:a:vendor:product:…``); a 2.2 URI
    (``cpe:/a:…``) is converted. Missing trailing components count as ANY — inventories
    often write ``cpe:2.3:a:apache:http_server:2.4.1`` — more than 11 is an error.

    Raises ``ValueError`` on anything else."""
    text = name.strip()
    if text[:5].lower() == "cpe:/":
        return parse_uri(text)
    if text[:8].lower() != "cpe:2.3:":
        raise ValueError(f"not a CPE 2.3 formatted string: {name!r}")
    raw = _split_fs(text[8:])
    if len(raw) > 11:
        raise ValueError(f"too many components in {name!r}")
    values = [_unbind_value(r) for r in raw] + [ANY] * (11 - len(raw))
    part = values[PART]
    if not (part is ANY or part is NA or part in ("a", "o", "h")):
        raise ValueError(f"bad CPE part {part!r} in {name!r}")
    return tuple(values)


def _uri_value(raw: str) -> Value:
    """A 2.2 URI component: percent-decoded; ``%01``/``%02`` are the ``?``/``*`` wildcards."""
    if raw == "":
        return ANY
    if raw == "-":
        return NA
    if "%01" in raw or "%02" in raw:
        fs = "".join(
            {"%01": "?", "%02": "*"}.get(tok, _escape(unquote(tok)))
            for tok in re.split(r"(%0[12])", raw)
            if tok
        )
        return _unbind_value(fs)
    return unquote(raw).lower()


@lru_cache(maxsize=1 << 14)
def parse_uri(uri: str) -> CpeName:
    """A CPE 2.2 URI (``cpe:/a:vendor:product:version:update:edition:language``), with
    the packed ``~edition~sw_edition~target_sw~target_hw~other`` form, as a 2.3 name."""
    if uri[:5].lower() != "cpe:/":
        raise ValueError(f"not a CPE 2.2 URI: {uri!r}")
    raw = uri[5:].split(":")
    if len(raw) > 7:
        raise ValueError(f"too many components in {uri!r}")
    raw += [""] * (7 - len(raw))
    values: list[Value] = [_uri_value(r) for r in raw[:5]]
    edition = raw[5]
    if edition.startswith("~"):
        packed = edition[1:].split("~")
        if len(packed) != 5:
            raise ValueError(f"bad packed edition in {uri!r}")
        ed, sw_ed, t_sw, t_hw, other = (_uri_value(p) for p in packed)
    else:
        ed, sw_ed, t_sw, t_hw, other = _uri_value(edition), ANY, ANY, ANY, ANY
    values += [ed, _uri_value(raw[6]), sw_ed, t_sw, t_hw, other]
    part = values[PART]
    if not (part is ANY or part in ("a", "o", "h")):
        raise ValueError(f"bad CPE part {part!r} in {uri!r}")
    return tuple(values)


def _escape(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "\\" + c for c in text)


def format_value(value: Value) -> str:
    """Bind one value for a formatted string (NISTIR 7695 §6.2.2)."""
    if value is ANY:
        return "*"
    if value is NA:
        return "-"
    if isinstance(value, Wildcard):
        return value.text
    if value in ("-", "*"):
        return "\\" + value
    return _escape(value)


def formatted_or_none(text: str) -> str | None:
    """A CPE 2.3 formatted string or 2.2 URI as the canonical 2.3 formatted string; None
    when it is neither (feeds carry malformed names now and then)."""
    text = (text or "").strip()
    if len(text) > 1024:
        return None
    try:
        return to_formatted(text)
    except ValueError:
        return None


def to_formatted(name: CpeName | str) -> str:
    """The canonical 2.3 formatted string (also turns a 2.2 URI into 2.3)."""
    values = parse(name) if isinstance(name, str) else name
    return "cpe:2.3:" + ":".join(format_value(v) for v in values)


def attribute_match(source: Value, target: Value) -> bool | None:
    """Does ``target``'s value fall within ``source``'s (NISTIR 7696 SUPERSET or EQUAL)?

    ``None`` when the target says ANY but the source needs something specific: the
    inventory did not say, so the caller flags rather than decides (the standard's
    answer would be "no match"). A wildcard in the target is treated the same way."""
    if source is ANY:
        return True
    if target is ANY or isinstance(target, Wildcard):
        return None
    if source is NA or target is NA:
        return source is target
    if isinstance(source, Wildcard):
        return source.matches(target)
    return source == target


def name_match(source: CpeName | str, target: CpeName | str) -> bool | None:
    """CPE name matching over all 11 attributes: ``False`` if any attribute is disjoint,
    else ``None`` if any is unknown (target ANY), else ``True``."""
    src = parse(source) if isinstance(source, str) else source
    tgt = parse(target) if isinstance(target, str) else target
    result: bool | None = True
    for s, t in zip(src, tgt, strict=True):
        m = attribute_match(s, t)
        if m is False:
            return False
        if m is None:
            result = None
    return result
