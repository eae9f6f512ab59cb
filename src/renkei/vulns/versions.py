"""Version order per ecosystem: the one question every range check asks.

``version_key`` returns an orderable key, or ``None`` when the string is not a version in
that ecosystem's order — the caller then flags the hit for a person instead of guessing.
Keys from different ecosystems are never compared with each other.

Ecosystem orders come from ``univers`` (PEP 440, Debian, RPM, Maven, NuGet, RubyGems,
Alpine, Composer), except where univers departs from the spec a matcher needs:

* SemVer (npm, Go, crates.io, Hex, OSV ``SEMVER`` ranges): univers' ``SemverVersion``
  coerces loose strings and orders build metadata, which SemVer 2.0 §10 says must be
  ignored; ``semver_key`` is a strict SemVer 2.0 precedence key instead (20 lines).
* CPE and JVN product versions have no declared scheme: ``generic_key`` is a natural order
  after repology's libversion (numbers numerically, ``rc``/``beta`` before the release,
  ``1.0.2k`` after ``1.0.2``, ``1.0 == 1.0.0``), which univers' generic scheme
  (SemVer coercion) does not give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from univers import versions as uv

__all__ = [
    "ecosystem_base",
    "ecosystem_scheme",
    "generic_key",
    "scheme_key",
    "semver_key",
    "version_key",
]

# OSV ecosystem (the part before ":") → univers scheme name, or "semver" for our strict key.
_SCHEMES: dict[str, str] = {
    "pypi": "pypi",
    "npm": "semver",
    "maven": "maven",
    "go": "semver",
    "crates.io": "semver",
    "hex": "semver",
    "pub": "semver",
    "rubygems": "gem",
    "nuget": "nuget",
    "packagist": "composer",
    "debian": "deb",
    "ubuntu": "deb",
    "alpine": "apk",
    "wolfi": "apk",
    "chainguard": "apk",
    "rocky linux": "rpm",
    "almalinux": "rpm",
    "red hat": "rpm",
    "opensuse": "rpm",
    "suse": "rpm",
    "mageia": "rpm",
    "photon os": "rpm",
    "openeuler": "rpm",
    "azure linux": "rpm",
    "conancenter": "conan",
}

class _AlpineVersion(uv.AlpineLinuxVersion):
    """univers defines ``<``/``>``/``==`` for apk by ``vercmp`` but leaves ``<=``/``>=`` to
    attrs, which compares the raw strings (``1.0_alpha1 >= 1.0.1`` would be true)."""

    def __le__(self, other: object) -> bool:
        return not bool(self > other)

    def __ge__(self, other: object) -> bool:
        return not bool(self < other)

    __hash__ = uv.AlpineLinuxVersion.__hash__


_UNIVERS: dict[str, type[uv.Version]] = {
    "pypi": uv.PypiVersion,
    "maven": uv.MavenVersion,
    "gem": uv.RubygemsVersion,
    "nuget": uv.NugetVersion,
    "composer": uv.ComposerVersion,
    "deb": uv.DebianVersion,
    "apk": _AlpineVersion,
    "rpm": uv.RpmVersion,
    "conan": uv.ConanVersion,
}


def ecosystem_base(ecosystem: str) -> str:
    """OSV ecosystem without its release: ``"Debian:12"`` → ``"Debian"``."""
    return ecosystem.split(":", 1)[0].strip()


def ecosystem_scheme(ecosystem: str) -> str | None:
    """The version order an OSV ecosystem uses (``None``: unknown, so never guessed)."""
    return _SCHEMES.get(ecosystem_base(ecosystem).lower())


# --- SemVer 2.0 -----------------------------------------------------------------------

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

SemverKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


@lru_cache(maxsize=1 << 16)
def semver_key(version: str) -> SemverKey | None:
    """SemVer 2.0 precedence (§11), build metadata ignored; a leading ``v`` is tolerated
    because Go versions carry one and OSV's own strings sometimes do."""
    m = _SEMVER.match(version.strip())
    if m is None:
        return None
    major, minor, patch, pre = m.group(1, 2, 3, 4)
    if pre is None:
        # A release sorts after all its pre-releases: flag 1 vs 0.
        return (int(major), int(minor), int(patch), 1, ())
    ids = tuple(
        (0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return (int(major), int(minor), int(patch), 0, ids)


# --- generic natural order (CPE, JVN) -------------------------------------------------

_PRE, _ZERO_PRE, _END, _ZERO_POST, _POST, _NONZERO = range(6)
_POST_WORDS = frozenset(
    {"patch", "post", "pl", "p", "errata", "sp", "update", "upd", "u", "hotfix", "hf", "r", "rev", "build"}
)
_PRE_WORDS = frozenset(
    {"alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "milestone", "cr", "ea", "nightly", "test"}
)
_TOKENS = re.compile(r"(\d+)|([A-Za-z]+)")

GenericKey = tuple[tuple[int, int | str], ...]


@lru_cache(maxsize=1 << 17)
def generic_key(version: str) -> GenericKey | None:
    """A natural version order for versions that name no scheme (CPE, JVN prose).

    Components are runs of digits or letters; letters are pre-release (``rc``, ``beta``,
    unknown words) unless a post-release word (``patch``, ``sp``, ``update``…) or a lone
    letter suffix (``1.0.2k``). Missing components count as zero, so ``1.0 == 1.0.0``.
    The padding is built into a plain tuple: zeros are ranked by what follows them, and
    an end marker sits between "zeros then pre-release" and "zeros then more".
    """
    raw: list[tuple[int, int | str]] = []
    text = version.strip()
    if text[:1] in "vV" and text[1:2].isdigit():
        text = text[1:]
    tokens = list(_TOKENS.finditer(text))
    for i, m in enumerate(tokens):
        digits, letters = m.group(1), m.group(2)
        if digits is not None:
            n = int(digits)
            raw.append((_NONZERO, n) if n else (-1, 0))
            continue
        word = letters.lower()
        follows_number = i > 0 and tokens[i - 1].end() == m.start() and tokens[i - 1].group(1) is not None
        next_is_number = i + 1 < len(tokens) and tokens[i + 1].start() == m.end() and tokens[i + 1].group(1) is not None
        suffix = follows_number and not next_is_number and word not in _PRE_WORDS
        if word in _POST_WORDS or suffix:
            raw.append((_POST, word))
        else:
            raw.append((_PRE, word))
    if not raw:
        return None
    while raw and raw[-1][0] == -1:
        raw.pop()
    out: list[tuple[int, int | str]] = []
    # Rank each zero by the first non-zero component after it (there is one: trailing
    # zeros were dropped).
    nxt = _END
    for rank, value in reversed(raw):
        if rank == -1:
            out.append((_ZERO_PRE if nxt == _PRE else _ZERO_POST, 0))
        else:
            nxt = rank
            out.append((rank, value))
    out.reverse()
    out.append((_END, 0))
    return tuple(out)


# --- per-ecosystem --------------------------------------------------------------------


def _univers_key(cls: type[uv.Version]) -> Callable[[str], Any | None]:
    def key(version: str) -> Any | None:
        try:
            return cls(version)
        except Exception:  # univers raises ValueError, TypeError, IndexError… on junk
            return None

    return key


def _pypi_key(version: str) -> Any | None:
    """univers' PEP 440 order as the plain tuple it compares by (``packaging``'s ``_key``
    of the ``value`` its attrs ordering compares): the same order, without two Python-level
    comparison calls per step, which were most of an OSV range check."""
    parsed = _univers_key(uv.PypiVersion)(version)
    return None if parsed is None else parsed.value._key


_KEYS: dict[str, Callable[[str], Any | None]] = {
    scheme: _univers_key(cls) for scheme, cls in _UNIVERS.items()
}
_KEYS["pypi"] = _pypi_key
_KEYS["semver"] = semver_key


@lru_cache(maxsize=1 << 18)
def scheme_key(scheme: str, version: str) -> Any | None:
    """``version_key`` by scheme name (``"semver"``, ``"pypi"``, ``"deb"``, ``"generic"``…)."""
    if scheme == "generic":
        return generic_key(version)
    fn = _KEYS.get(scheme)
    if fn is None or not version or not version.strip() or len(version) > 256:
        return None
    # univers silently accepts some junk (Maven and RPM take any text): require a digit.
    if not any(c.isdigit() for c in version):
        return None
    return fn(version)


def version_key(ecosystem: str, version: str) -> Any | None:
    """An orderable key for ``version`` in ``ecosystem``'s order, or ``None`` when the
    ecosystem is unknown or the string is not a version there (never a guess)."""
    scheme = ecosystem_scheme(ecosystem)
    return None if scheme is None else scheme_key(scheme, version)
