"""Read the version prose of JVN iPedia (and English advisories) as version bounds.

JVN states affected versions as free text (「2.4.1 より前のバージョン」, 「1.0 から 1.5 まで」,
"3.0.1 and earlier"). A match on a misread range is worse than a flagged one, so the text is
read only when every token of it is understood; anything else gives ``parsed=False`` and the
matcher flags the hit for a person. Nothing is ever guessed.

What a result means (the contract the matchers rely on):

- ``exact`` lists versions named one by one; ``lower``/``upper`` bound one interval. A version
  is affected if it is in ``exact`` OR (when a bound is given) inside the interval.
- ``parsed`` true with no bound and no exact version means every version: that is what
  「全てのバージョン」 / "all versions" say, and it is read so on purpose.
- Empty text, prose, several disjoint intervals (「1.2 以前、2.0 以降」), dates
  (「2019年以降」), series (「2.x 系」) and dash ranges written inside one token
  ("1.0-1.5") give ``parsed=False``.

Semantics: より前 / 未満 / prior to / before / earlier than / ``<`` → exclusive upper;
以前 / 以下 / それ以前 / and earlier / through / ``<=`` → inclusive upper; 以降 / 以上 / or later /
``>=`` → inclusive lower; より後 / 超 / after / later than / ``>`` → exclusive lower;
「A から B (まで)」, 「A〜B」, "A to B", "from A to B", "A through B", "A - B" → A and B both
included.

Hand-written: no library reads Japanese version prose; a small tokenizer keeps the
"understand every token or refuse" rule easy to check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from renkei.vulns.model import ProductVersions, VersionBound

MAX_TEXT = 4096  # version prose longer than this is not a version list
MAX_FIELD = 1024
MAX_EXACT = 200

# token kinds
_V = "V"  # a version
_LT, _LE, _GE, _GT = "LT", "LE", "GE", "GT"
_FROM_JA = "FROM_JA"  # から, after the version
_UNTIL_JA = "UNTIL_JA"  # まで, after the version
_FROM = "FROM"  # from, before the version
_RANGE = "RANGE"  # to / through / ~ / - between two versions
_THROUGH = "THROUGH"  # through: between two versions, or "through V" (= <= V)
_SEP = "SEP"  # list separator
_AND = "AND"  # かつ: joins two bounds of one interval
_ALL = "ALL"
_FILL = "FILL"  # words that carry no meaning here (バージョン, versions …)

# Phrases, longest first within each kind; English words need a word edge after them.
_PHRASES: tuple[tuple[str, str, bool], ...] = (
    # (pattern, kind, is_prefix_operator)
    (r"(?:および|及び|ならびに|並びに|と)?それ以前(?:の|全ての|すべての|各)*", _LE, False),
    (r"(?:および|及び|ならびに|並びに|と)?それ以降(?:の|全ての|すべての|各)*", _GE, False),
    (r"より前", _LT, False),
    (r"未満", _LT, False),
    (r"以前", _LE, False),
    (r"以下", _LE, False),
    (r"以降", _GE, False),
    (r"以上", _GE, False),
    (r"より後", _GT, False),
    (r"を?超える", _GT, False),
    (r"超", _GT, False),
    (r"から", _FROM_JA, False),
    (r"まで", _UNTIL_JA, False),
    (r"かつ", _AND, False),
    (r"(?:全て|すべて|全)の?(?:バージョン|版)", _ALL, False),
    (r"all\s+versions?(?![a-z])", _ALL, False),
    (r"(?:and|or)\s+(?:earlier|prior|older|below|lower)(?:\s+versions?)?(?![a-z])", _LE, False),
    (r"(?:and|or)\s+(?:later|higher|above|newer)(?:\s+versions?)?(?![a-z])", _GE, False),
    (r"onwards?(?![a-z])", _GE, False),
    (r"up\s+to\s+and\s+including(?![a-z])", _LE, True),
    (r"(?:prior\s+to|before|earlier\s+than|older\s+than|lower\s+than|less\s+than)(?![a-z])", _LT, True),
    (r"(?:after|later\s+than|newer\s+than|greater\s+than|higher\s+than)(?![a-z])", _GT, True),
    (r"(?:through|thru)(?![a-z])", _THROUGH, True),
    (r"from(?![a-z])", _FROM, True),
    (r"to(?![a-z])", _RANGE, False),
    (r"<=|=<|≦|≤", _LE, True),
    (r">=|=>|≧|≥", _GE, True),
    (r"<", _LT, True),
    (r">", _GT, True),
    (r"==?", _FILL, False),
    (r"~|〜|～", _RANGE, False),
    (r"-(?![0-9])", _RANGE, False),
    (r"、|,|;|/|および|及び|ならびに|並びに|(?:and|or)(?![a-z])|&", _SEP, False),
    (r"のバージョン|バージョン|versions?(?![a-z])|ファームウェア|ファームウエア|firmware(?![a-z])|の|版", _FILL, False),
)

_VERSION = r"(?:ver(?:sion)?\.?\s*|v\.?\s?)?(?P<ver>[0-9][0-9a-z._+\-]*)"
_TOKEN_RE = re.compile(
    "|".join(
        [f"(?P<p{i}>{pat})" for i, (pat, _, _) in enumerate(_PHRASES[:-4])]
        + [_VERSION]
        + [f"(?P<p{i}>{pat})" for i, (pat, _, _) in enumerate(_PHRASES) if i >= len(_PHRASES) - 4]
    )
)
_DASH_RANGE = re.compile(r"^\d+(?:\.\d+)+-\d+(?:\.\d+)+$")
_WILDCARD = re.compile(r"(?:^|[.\-])[x*](?:$|[.\-])")  # 「2.x」 names a series, not a version
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    prefix: bool = False


def _normalise(text: str) -> str:
    """NFKC folds full-width digits and dots (「２．４．１」) into ASCII."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = s.replace("「", " ").replace("」", " ").replace("(", " ").replace(")", " ")
    return _WS.sub(" ", s).strip()


def _tokenize(s: str) -> list[_Tok] | None:
    """Every character must belong to a known token; otherwise None (not understood)."""
    toks: list[_Tok] = []
    i, n = 0, len(s)
    while i < n:
        if s[i].isspace():
            i += 1
            continue
        m = _TOKEN_RE.match(s, i)
        if m is None or m.end() == i:
            return None
        if m.group("ver") is not None:
            ver = m.group("ver").rstrip(".-_+")
            if not ver or _DASH_RANGE.match(ver) or _WILDCARD.search(ver):
                return None
            toks.append(_Tok(_V, ver))
        else:
            for j, (_, kind, prefix) in enumerate(_PHRASES):
                if m.group(f"p{j}") is not None:
                    if kind != _FILL:
                        toks.append(_Tok(kind, m.group(0), prefix))
                    break
        i = m.end()
    return toks


def _naive_key(v: str) -> tuple[int, ...] | None:
    parts = re.split(r"[._+\-]", v)
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


@dataclass
class _Acc:
    lower: list[tuple[VersionBound, int]]
    upper: list[tuple[VersionBound, int]]
    exact: list[str]


def _parse_item(toks: list[_Tok], item: int, acc: _Acc) -> bool:
    """One list item: clauses of ``V``, ``V POSTOP``, ``PREOP V`` and ranges."""
    toks = [t for t in toks if t.kind != _AND]
    if any(t.kind == _ALL for t in toks) and len(toks) > 1:
        toks = [t for t in toks if t.kind != _ALL]  # 「2.0 より前の全てのバージョン」
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        if t.kind == _ALL:
            i += 1
            continue
        if t.kind == _FROM:  # from A to B / from A through B
            if i + 3 < n and toks[i + 1].kind == _V and toks[i + 2].kind in (_RANGE, _THROUGH) and toks[i + 3].kind == _V:
                acc.lower.append((VersionBound(toks[i + 1].text, True), item))
                acc.upper.append((VersionBound(toks[i + 3].text, True), item))
                i += 4
                continue
            return False
        if t.prefix and t.kind in (_LT, _LE, _GE, _GT, _THROUGH):
            if nxt is None or nxt.kind != _V:
                return False
            bound_kind = _LE if t.kind == _THROUGH else t.kind
            _add(acc, bound_kind, nxt.text, item)
            i += 2
            continue
        if t.kind != _V:
            return False
        # t is a version
        if nxt is not None and nxt.kind in (_RANGE, _THROUGH, _FROM_JA):
            third = toks[i + 2] if i + 2 < n else None
            if third is not None and third.kind == _V:
                acc.lower.append((VersionBound(t.text, True), item))
                acc.upper.append((VersionBound(third.text, True), item))
                i += 3
                if i < n and toks[i].kind == _UNTIL_JA:
                    i += 1
                continue
            if nxt.kind == _FROM_JA and third is None:
                _add(acc, _GE, t.text, item)  # 「2.0 から」: from 2.0 on
                i += 2
                continue
            return False
        if nxt is not None and not nxt.prefix and nxt.kind in (_LT, _LE, _GE, _GT, _UNTIL_JA):
            _add(acc, _LE if nxt.kind == _UNTIL_JA else nxt.kind, t.text, item)
            i += 2
            continue
        acc.exact.append(t.text)
        i += 1
    return True


def _add(acc: _Acc, kind: str, version: str, item: int) -> None:
    if kind in (_LT, _LE):
        acc.upper.append((VersionBound(version, kind == _LE), item))
    else:
        acc.lower.append((VersionBound(version, kind == _GE), item))


def parse_version_text(
    text: str,
) -> tuple[VersionBound | None, VersionBound | None, tuple[str, ...], bool]:
    """(lower, upper, exact versions, parsed) for one version text; never raises."""
    unread: tuple[VersionBound | None, VersionBound | None, tuple[str, ...], bool] = (None, None, (), False)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return unread
    toks = _tokenize(_normalise(text))
    if not toks:
        return unread
    items: list[list[_Tok]] = [[]]
    for t in toks:
        if t.kind == _SEP:
            items.append([])
        else:
            items[-1].append(t)
    if any(not it for it in items):
        return unread  # a dangling separator: 「1.0、」
    acc = _Acc([], [], [])
    for idx, it in enumerate(items):
        if not _parse_item(it, idx, acc):
            return unread
    if len(acc.lower) > 1 or len(acc.upper) > 1 or len(acc.exact) > MAX_EXACT:
        return unread  # disjoint intervals cannot be one (lower, upper)
    lower = acc.lower[0] if acc.lower else None
    upper = acc.upper[0] if acc.upper else None
    if lower is not None and upper is not None:
        lk, uk = _naive_key(lower[0].version), _naive_key(upper[0].version)
        if lk is not None and uk is not None:
            if lk > uk or (lk == uk and not (lower[0].inclusive and upper[0].inclusive)):
                return unread  # 「2.0 以降、1.0 以前」: two intervals, not one
        elif lower[1] != upper[1]:
            return unread  # bounds from separate list items we cannot order
    exact = tuple(dict.fromkeys(e[:MAX_FIELD] for e in acc.exact))
    return (
        lower[0] if lower else None,
        upper[0] if upper else None,
        exact,
        True,
    )


def product_versions(vendor: str, product: str, cpe: str | None, text: str) -> ProductVersions:
    """A ProductVersions with ``text`` kept as published and read as far as it safely goes."""
    text = (text or "")[:MAX_TEXT]
    lower, upper, exact, parsed = parse_version_text(text)
    return ProductVersions(
        vendor=(vendor or "")[:MAX_FIELD],
        product=(product or "")[:MAX_FIELD],
        cpe=cpe[:MAX_FIELD] if cpe else None,
        text=text,
        lower=lower,
        upper=upper,
        exact=exact,
        parsed=parsed,
    )
