"""Which components do the records say are affected: pure functions, no database.

Three kinds of statement are matched, each with its own rules:

* **Packages** (OSV ``affected[]``, CSAF/CVE products named by purl): same ecosystem and
  name (normalised per ecosystem), then the OSV evaluation
  (https://ossf.github.io/osv-schema/#evaluation): affected when the version is in the
  explicit ``versions`` list or inside any ECOSYSTEM/SEMVER range.
* **CPE configurations** (NVD): CPE name matching with ANY/NA semantics plus the
  versionStart/End bounds in a natural version order, AND/OR nodes, ``negate``, and
  ``vulnerable: false`` platforms.
* **Products** (JVN ``ProductVersions``): vendor/product against the component's CPE,
  then the bounds read from the prose.

Never a guess: when something cannot be decided (version unparseable, range text not
read, platform not in the inventory, component CPE too vague) the hit is returned with
``certain=False`` and ``why`` says what is missing. Decisions, once:

* Component ecosystem without a release (``Debian``) vs a record's ``Debian:12``:
  uncertain hit ("release not known"); a record without a release matches every release;
  two different releases never match.
* ECOSYSTEM range in an ecosystem with no known version order: uncertain. SEMVER ranges
  work in every ecosystem. GIT ranges are skipped; a package with only GIT ranges and no
  ``versions`` list gives an uncertain hit. A package with neither ranges nor versions
  (nor a purl version): uncertain.
* Events are sorted by version; at equal versions a ``fixed``/``last_affected`` closing an
  open range comes before ``introduced``, so adjoining ranges join (``fixed X,
  introduced X``) as osv.dev's own ``versions`` lists read them, while a lone
  ``introduced X, fixed X`` stays empty; ``limit`` bounds its range (``v < some limit``).
  Overlapping ranges (``introduced 2.11, fixed 2.11.7, introduced 0, fixed 2.11.6``): the
  spec's sorted sweep decides; a version only the published (introduced, fixed) pairs
  cover is an uncertain hit.
* A platform (``vulnerable: false``) the inventory does not name at all (no component with
  that vendor/product) is unknown, not false: the hit is uncertain, "running on … not
  known". A platform the inventory names at another version is false.
* A component CPE saying ANY where the criteria need a value (update, target_sw, a
  version) is uncertain. Matches under a negated node or configuration never give hits.
* Withdrawn records are matched like any other: callers filter them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from packageurl import PackageURL

from renkei.core.memory import paused_gc
from renkei.vulns import cpe as cpelib
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    Component,
    CpeConfiguration,
    CpeMatch,
    EventKind,
    Hit,
    ProductVersions,
)
from renkei.vulns.versions import ecosystem_base, ecosystem_scheme, generic_key, scheme_key

__all__ = [
    "Matcher",
    "PackageId",
    "Row",
    "advisory_hits",
    "affected_by_package",
    "configuration_matches",
    "normalise_name",
    "package_id",
    "product_matches",
    "purl_package",
]

Tri = bool | None  # True: affected; None: flagged for a person; False: not affected
Row = tuple[int, bool, str]  # a hit: (component index, certain, why)

# ---------------------------------------------------------------------------------------
# package identity


_CANONICAL_ECOSYSTEMS = {
    e.lower(): e
    for e in (
        "PyPI", "npm", "Maven", "Go", "crates.io", "RubyGems", "NuGet", "Packagist", "Hex",
        "Pub", "ConanCenter", "SwiftURL", "Hackage", "CRAN", "GitHub Actions", "Bitnami",
        "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "Red Hat", "Rocky Linux",
        "AlmaLinux", "openSUSE", "SUSE", "Mageia", "Photon OS", "openEuler", "Azure Linux",
        "Linux", "Android", "OSS-Fuzz", "GHC", "GSD", "UVI",
    )
}  # fmt: skip

_PURL_TYPES = {
    "pypi": "PyPI", "npm": "npm", "maven": "Maven", "golang": "Go", "cargo": "crates.io",
    "gem": "RubyGems", "nuget": "NuGet", "composer": "Packagist", "hex": "Hex", "pub": "Pub",
    "conan": "ConanCenter", "swift": "SwiftURL", "hackage": "Hackage", "cran": "CRAN",
    "github": "GitHub Actions", "bitnami": "Bitnami",
}  # fmt: skip
_PURL_DISTROS = {
    "deb": {"debian": "Debian", "ubuntu": "Ubuntu"},
    "apk": {"alpine": "Alpine", "wolfi": "Wolfi", "chainguard": "Chainguard"},
    "rpm": {
        "redhat": "Red Hat", "rhel": "Red Hat", "rocky": "Rocky Linux",
        "rocky-linux": "Rocky Linux", "almalinux": "AlmaLinux", "opensuse": "openSUSE",
        "suse": "SUSE", "sles": "SUSE", "mageia": "Mageia", "photon": "Photon OS",
        "openeuler": "openEuler", "azurelinux": "Azure Linux", "mariner": "Azure Linux",
    },
}  # fmt: skip
_CODENAMES = {
    "debian": {
        "squeeze": "6", "wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10",
        "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
    },
    "ubuntu": {
        "trusty": "14.04", "xenial": "16.04", "bionic": "18.04", "focal": "20.04",
        "jammy": "22.04", "kinetic": "22.10", "lunar": "23.04", "mantic": "23.10",
        "noble": "24.04", "oracular": "24.10", "plucky": "25.04", "questing": "25.10",
    },
}  # fmt: skip
_PYPI_SEP = re.compile(r"[-_.]+")
_CASE_FOLDED = frozenset(
    {"pypi", "nuget", "packagist", "crates.io", "debian", "ubuntu", "alpine", "wolfi",
     "chainguard", "hex", "pub", "red hat", "rocky linux", "almalinux", "opensuse", "suse",
     "mageia", "photon os", "openeuler", "azure linux"}
)  # fmt: skip


def normalise_name(ecosystem: str, name: str) -> str:
    """A package name as compared within its ecosystem: PEP 503 for PyPI, case-folded
    where the registry is case-insensitive (NuGet, Packagist, crates.io, distributions),
    exact elsewhere (npm incl. scope, Maven ``group:artifact``, Go module path, RubyGems)."""
    base = ecosystem_base(ecosystem).lower()
    text = name.strip()
    if base == "pypi":
        return _PYPI_SEP.sub("-", text).lower()
    return text.lower() if base in _CASE_FOLDED else text


def _release(base: str, text: str | None) -> str | None:
    """Canonical release of a distribution ecosystem: Debian major, Ubuntu/Alpine
    ``major.minor``, other distributions major; codenames mapped."""
    if not text:
        return None
    low = text.strip().lower()
    codes = _CODENAMES.get(base, {})
    for word in re.split(r"[^a-z0-9.]+", low):
        if word in codes:
            return codes[word]
    pattern = r"(\d+\.\d+)" if base in ("ubuntu", "alpine", "wolfi") else r"(\d+)"
    found = re.search(pattern, low)
    return found.group(1) if found else low


@dataclass(frozen=True, slots=True)
class PackageId:
    """A package as the matcher compares it."""

    ecosystem: str  # canonical OSV base name: "Debian", "PyPI"
    name: str  # normalised
    release: str | None  # canonical distribution release, or None
    version: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.ecosystem.lower(), self.name)


def _split_ecosystem(ecosystem: str) -> tuple[str, str | None]:
    base = ecosystem_base(ecosystem)
    canonical = _CANONICAL_ECOSYSTEMS.get(base.lower(), base)
    rest = ecosystem.split(":", 1)[1] if ":" in ecosystem else None
    return canonical, _release(canonical.lower(), rest)


# A purl packageurl reads as it stands: no qualifiers, subpath, percent-escapes, colons or
# empty segments, and a plain version after the last "@".
_PLAIN_PURL = re.compile(r"(pkg:[A-Za-z][A-Za-z0-9._-]*(?:/@?[A-Za-z0-9._+~!-]+)+)@([A-Za-z0-9._+~!-]+)")


def purl_package(purl: str) -> PackageId | None:
    """The OSV ecosystem, name, release and version a purl names (``None``: no OSV
    ecosystem, or not a purl). ``pkg:maven/org.apache/foo`` → ``org.apache:foo``,
    ``pkg:npm/%40scope/pkg`` → ``@scope/pkg``, ``pkg:golang/github.com/x/y`` →
    ``github.com/x/y``; ``distro=debian-12``/``bookworm`` gives the release.

    An inventory names each package at its own version, and packageurl takes ~100 µs a
    parse: a plain purl is read as its package (parsed once, cached) plus its version —
    the same answer, which a property test checks against the full parse."""
    plain = _PLAIN_PURL.fullmatch(purl)
    if plain is None:
        return _parse_purl(purl)
    package = _parse_purl(plain[1])
    if package is None or package.version is not None:
        return _parse_purl(purl)  # junk, or an "@" inside the name: the full parse decides
    return PackageId(package.ecosystem, package.name, package.release, plain[2])


@lru_cache(maxsize=1 << 16)
def _parse_purl(purl: str) -> PackageId | None:
    """``purl_package`` by packageurl's own parse."""
    try:
        p = PackageURL.from_string(purl)
    except Exception:  # packageurl raises ValueError and others on junk
        return None
    kind = (p.type or "").lower()
    ns = p.namespace or ""
    qualifiers = p.qualifiers if isinstance(p.qualifiers, dict) else {}
    distro = str(qualifiers.get("distro", "")) or None
    if kind in _PURL_DISTROS:
        eco = _PURL_DISTROS[kind].get(ns.lower())
        if eco is None:
            return None
        name = p.name
    else:
        found = _PURL_TYPES.get(kind)
        if found is None:
            return None
        eco = found
        if kind == "maven" and ns:
            name = f"{ns}:{p.name}"
        elif kind in ("npm", "golang", "composer", "swift", "github") and ns:
            name = f"{ns}/{p.name}"
        else:
            name = p.name
        distro = None
    return PackageId(eco, normalise_name(eco, name), _release(eco.lower(), distro), p.version)


def package_id(component: Component) -> PackageId | None:
    """How the matcher sees a component's package: its ``ecosystem``/``name`` when the
    inventory gave them (``Debian:12`` carries the release), else derived from its purl;
    the component's ``version`` wins over the purl's."""
    from_purl = purl_package(component.purl) if component.purl else None
    if component.ecosystem and (component.name or from_purl):
        eco, release = _split_ecosystem(component.ecosystem)
        raw = component.name or (from_purl.name if from_purl else "")
        if release is None and from_purl and from_purl.ecosystem == eco:
            release = from_purl.release
        version = component.version or (from_purl.version if from_purl else None)
        return PackageId(eco, normalise_name(eco, raw), release, version)
    if from_purl is None:
        return None
    return PackageId(
        from_purl.ecosystem,
        from_purl.name,
        from_purl.release,
        component.version or from_purl.version,
    )


# ---------------------------------------------------------------------------------------
# compiled package ranges

_ORDER = {
    EventKind.INTRODUCED: 0,
    EventKind.LAST_AFFECTED: 1,
    EventKind.FIXED: 2,
    EventKind.LIMIT: 3,
}


def _sort_events(events: list[tuple[int, Any]]) -> tuple[list[tuple[int, Any]], bool]:
    """Events in evaluation order, and whether an introduced opens inside an open range.

    At one version, a fixed/last_affected that closes an open range goes before the
    introduced (so "fixed 3.1.1, introduced 3.1.1" joins two ranges, as osv.dev's lists
    read pyspark PYSEC-2022-236); with nothing open, introduced goes first (so a lone
    "introduced X, fixed X" stays empty)."""
    zeros = [ev for ev in events if ev[1] is None]
    rest = sorted((ev for ev in events if ev[1] is not None), key=lambda ev: ev[1])
    out = list(zeros)
    is_open, overlap = False, False
    for _ in zeros:
        overlap = overlap or is_open
        is_open = True
    i = 0
    while i < len(rest):
        j = i
        while j < len(rest) and rest[j][1] == rest[i][1]:
            j += 1
        group = rest[i:j]
        ends = [ev for ev in group if ev[0] != 0]
        starts = [ev for ev in group if ev[0] == 0]
        ordered = ends + starts if is_open else starts + ends
        for order, _key in ordered:
            if order == 0:
                overlap = overlap or is_open
                is_open = True
            else:
                is_open = False
        out.extend(ordered)
        i = j
    return out, overlap


@dataclass(slots=True)
class _Range:
    scheme: str | None  # None: ECOSYSTEM range in an ecosystem without a known order
    events: list[tuple[int, Any]]  # (order, key) sorted; key None = introduced "0"
    limits: list[Any]
    why: str
    readable: bool  # every event version parsed
    # Overlapping ranges (an introduced inside an open range) read differently as a
    # sweep (the spec) and as published pairs; the pairs, kept only then, can flag.
    pairs: list[tuple[Any, Any, bool]] = field(default_factory=list)

    def in_pairs(self, key: Any) -> bool:
        for lo, hi, inclusive in self.pairs:
            if (lo is None or key >= lo) and (hi is None or key < hi or (inclusive and key == hi)):
                return True
        return False

    def contains(self, key: Any) -> bool:
        if self.limits and not any(key < limit for limit in self.limits):
            return False
        affected = False
        for order, ev in self.events:
            if order == 0:
                if ev is None or key >= ev:
                    affected = True
            elif order == 2:
                if key >= ev:
                    affected = False
            elif key > ev:  # last_affected
                affected = False
        return affected


def _compile_range(rng: AffectedRange, scheme: str | None) -> _Range | None:
    if rng.type.upper() == "SEMVER":
        scheme = "semver"
    why = ", ".join(f"{e.kind.value} {e.version}" for e in rng.events)
    events: list[tuple[int, Any]] = []
    limits: list[Any] = []
    readable = scheme is not None
    for e in rng.events:
        order = _ORDER.get(EventKind(e.kind), 3)
        if order == 0 and e.version.strip() == "0":
            events.append((0, None))
            continue
        if order == 3 and e.version.strip() == "*":
            continue  # unbounded limit
        key = scheme_key(scheme, e.version) if scheme else None
        if key is None:
            readable = False
            continue
        (limits if order == 3 else events).append((order, key) if order != 3 else key)
    pairs: list[tuple[Any, Any, bool]] = []
    if readable:
        published = list(events)
        events, overlap = _sort_events(events)
        if overlap:
            start: tuple[bool, Any] | None = None
            for order, ev in published:
                if order == 0:
                    start = (True, ev)
                elif start is not None:
                    pairs.append((start[1], ev, order == 1))
                    start = None
            if start is not None:
                pairs.append((start[1], None, False))
    return _Range(scheme, events, limits, why, readable, pairs)


@dataclass(slots=True)
class _Package:
    advisory: str
    ecosystem: str  # canonical base
    release: str | None
    name: str  # normalised
    label: str  # "PyPI django"
    scheme: str | None
    versions: frozenset[str]
    ranges: list[_Range]
    git_only: bool  # GIT ranges and nothing else to decide by

    def evaluate(self, pid: PackageId) -> tuple[Tri, str]:
        """Is ``pid`` (already known to share ecosystem and name) affected, and why."""
        if self.release is not None and pid.release is not None and pid.release != self.release:
            return False, ""
        tri, why = self._version(pid.version)
        if tri is not False and self.release is not None and pid.release is None:
            return None, f"{why}; {pid.ecosystem} release not known (record is for {self.release})"
        return tri, why

    def _version(self, version: str | None) -> tuple[Tri, str]:
        if version is None:
            return None, f"{self.label}: version unknown"
        if version in self.versions:
            return True, f"{self.label}: {version} listed as affected"
        unsure: str | None = None
        for rng in self.ranges:
            if rng.scheme is None:
                unsure = unsure or f"{self.label}: {rng.why} (no version order known for {self.ecosystem})"
                continue
            key = scheme_key(rng.scheme, version)
            if key is None:
                unsure = unsure or f"{self.label}: {rng.why} (version {version!r} not comparable)"
                continue
            if not rng.readable:
                if rng.contains(key):
                    return None, f"{self.label}: {rng.why} (some range versions not readable)"
                unsure = unsure or f"{self.label}: {rng.why} (some range versions not readable)"
                continue
            if rng.contains(key):
                return True, f"{self.label}: {rng.why}"
            if rng.pairs and rng.in_pairs(key):
                unsure = unsure or f"{self.label}: {rng.why} (overlapping ranges: affected as published pairs, not as a sorted sweep)"
        if unsure is not None:
            return None, unsure
        if self.git_only:
            return None, f"{self.label}: only GIT ranges (commits cannot be compared)"
        if not self.ranges and not self.versions:
            return None, f"{self.label}: no affected versions given"
        return False, ""


def _compile_package(advisory: str, pkg: AffectedPackage) -> _Package | None:
    eco_text = pkg.ecosystem
    name = pkg.name
    purl_id = purl_package(pkg.purl) if pkg.purl else None
    if (not eco_text or not name) and purl_id is not None:
        eco_text = eco_text or purl_id.ecosystem
        name = name or purl_id.name
    if not eco_text or not name:
        return None
    eco, release = _split_ecosystem(eco_text)
    if release is None and purl_id is not None and purl_id.ecosystem == eco:
        release = purl_id.release
    scheme = ecosystem_scheme(eco)
    ranges = [
        r
        for rng in pkg.ranges
        if rng.type.upper() != "GIT" and (r := _compile_range(rng, scheme)) is not None
    ]
    versions = set(pkg.versions)
    if not pkg.ranges and not versions and purl_id is not None and purl_id.version:
        versions.add(purl_id.version)  # a CSAF/CVE product named by a versioned purl
    git_only = bool(pkg.ranges) and not ranges and not versions
    return _Package(
        advisory=advisory,
        ecosystem=eco,
        release=release,
        name=normalise_name(eco, name),
        label=f"{pkg.ecosystem} {pkg.name}",
        scheme=scheme,
        versions=frozenset(versions),
        ranges=ranges,
        git_only=git_only,
    )


# ---------------------------------------------------------------------------------------
# CPE configurations


def _literal(value: cpelib.Value) -> bool:
    return isinstance(value, str) and value is not cpelib.ANY and value is not cpelib.NA


def _cpe_version(component: Component, name: cpelib.CpeName) -> str | None:
    """The component's own version, else its CPE's (when that names one)."""
    if component.version is not None:
        return component.version
    own = name[cpelib.VERSION]
    return str(own) if _literal(own) else None


def _bound_text(m: CpeMatch) -> str:
    parts = [
        f"{label} {value}"
        for label, value in (
            ("versionStartIncluding", m.version_start_including),
            ("versionStartExcluding", m.version_start_excluding),
            ("versionEndIncluding", m.version_end_including),
            ("versionEndExcluding", m.version_end_excluding),
        )
        if value
    ]
    return " ".join([m.criteria, *parts])


@dataclass(slots=True)
class _CpeTest:
    """A compiled cpeMatch (shared between configurations that repeat it)."""

    criteria: str
    name: cpelib.CpeName | None  # None: criteria unreadable
    vulnerable: bool
    key: tuple[str, str] | None  # literal (vendor, product), or None for wildcards
    checks: tuple[tuple[int, cpelib.Value], ...]  # other non-ANY attributes
    bounds: list[tuple[Any, bool, bool]]  # (key, is_lower, inclusive)
    bounds_readable: bool
    why: str
    # configurations where this is a vulnerable, non-negated criteria (Matcher only)
    configs: list[_Config] = field(default_factory=list)
    # records whose configuration is a simple OR holding this criteria: a component it
    # matches is a hit of each, with no configuration to evaluate (Matcher only)
    simple_records: list[str] = field(default_factory=list)
    indexed: bool = False  # in a Matcher's _ProductIndex

    def test(self, target: cpelib.CpeName, version: str | None) -> tuple[Tri, str]:
        """Does one component (its CPE and effective version) satisfy this criteria?"""
        if self.name is None:
            return None, f"{self.criteria} (criteria unreadable)"
        unsure: list[str] = []
        for i, value in self.checks:
            m = cpelib.attribute_match(value, target[i])
            if m is False:
                return False, ""
            if m is None:
                unsure.append(f"{cpelib.ATTRIBUTES[i]} not known")
        want = self.name[cpelib.VERSION]
        if want is cpelib.NA:
            got = target[cpelib.VERSION]
            if got is cpelib.NA:
                pass
            elif version is None and got is cpelib.ANY:
                unsure.append("version unknown")
            else:
                return False, ""
        elif want is not cpelib.ANY:
            if version is None:
                unsure.append("version unknown")
            elif isinstance(want, cpelib.Wildcard):
                if not want.matches(version.lower()):
                    return False, ""
            elif want != version.lower():
                a, b = generic_key(want), generic_key(version)
                if a is None or b is None or a != b:
                    return False, ""
        if self.bounds:
            if version is None:
                unsure.append("version unknown")
            elif not self.bounds_readable:
                unsure.append("bound versions not comparable")
            else:
                k = generic_key(version)
                if k is None:
                    unsure.append(f"version {version!r} not comparable")
                else:
                    for bound, lower, inclusive in self.bounds:
                        if lower:
                            ok = k >= bound if inclusive else k > bound
                        else:
                            ok = k <= bound if inclusive else k < bound
                        if not ok:
                            return False, ""
        if unsure:
            return None, f"{self.why} ({'; '.join(dict.fromkeys(unsure))})"
        return True, self.why


def _compile_cpe_match(m: CpeMatch) -> _CpeTest:
    try:
        name: cpelib.CpeName | None = cpelib.parse(m.criteria)
    except ValueError:
        name = None
    key: tuple[str, str] | None = None
    checks: list[tuple[int, cpelib.Value]] = []
    if name is not None:
        vendor, product = name[cpelib.VENDOR], name[cpelib.PRODUCT]
        if _literal(vendor) and _literal(product):
            key = (str(vendor), str(product))
        checks = [
            (i, v)
            for i, v in enumerate(name)
            if i != cpelib.VERSION
            and v is not cpelib.ANY
            and (i not in (cpelib.VENDOR, cpelib.PRODUCT) or key is None)
        ]
    bounds: list[tuple[Any, bool, bool]] = []
    readable = True
    for text, lower, inclusive in (
        (m.version_start_including, True, True),
        (m.version_start_excluding, True, False),
        (m.version_end_including, False, True),
        (m.version_end_excluding, False, False),
    ):
        if text:
            k = generic_key(text)
            if k is None:
                readable = False
            else:
                bounds.append((k, lower, inclusive))
    return _CpeTest(m.criteria, name, m.vulnerable, key, tuple(checks), bounds, readable, _bound_text(m))


@dataclass(slots=True)
class _CpeComponent:
    index: int
    name: cpelib.CpeName
    version: str | None


@dataclass(slots=True)
class _Inventory:
    """The member's components as CPE configurations are evaluated against them."""

    by_product: dict[tuple[str, str], list[_CpeComponent]] = field(default_factory=dict)
    all: list[_CpeComponent] = field(default_factory=list)
    # id(criteria) -> (truth, [(component index, certain, why)], note)
    memo: dict[int, tuple[Tri, list[Row], str]] = field(default_factory=dict)
    # (vendor, product) whose indexed criteria were all run by a _ProductIndex: an indexed
    # criteria of such a product missing from the memo matched nothing
    indexed: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, components: Sequence[Component]) -> _Inventory:
        inv = cls()
        for i, c in enumerate(components):
            if not c.cpe:
                continue
            try:
                name = cpelib.parse(c.cpe)
            except ValueError:
                continue
            entry = _CpeComponent(i, name, _cpe_version(c, name))
            inv.all.append(entry)
            vendor, product = name[cpelib.VENDOR], name[cpelib.PRODUCT]
            if _literal(vendor) and _literal(product):
                inv.by_product.setdefault((str(vendor), str(product)), []).append(entry)
        return inv

    def evaluate(self, t: _CpeTest) -> tuple[Tri, list[Row], str]:
        """The criteria's truth over the inventory, the components it matched, and (for an
        unknown platform) the note saying so. Memoised: NVD repeats platforms a lot."""
        found = self.memo.get(id(t))
        if found is not None:
            return found
        if t.indexed and t.key in self.indexed:
            return _NOTHING
        candidates = self.by_product.get(t.key, []) if t.key is not None else self.all
        matched: list[Row] = []
        best: Tri = False
        for c in candidates:
            tri, why = t.test(c.name, c.version)
            if tri is False:
                continue
            matched.append((c.index, tri is True, why))
            if tri is True:
                best = True
            elif best is False:
                best = None
        note = ""
        if not t.vulnerable and best is False and t.key is not None and not candidates:
            best, note = None, f"running on {t.criteria} not known"
        result = (best, matched, note)
        self.memo[id(t)] = result
        return result


_NOTHING: tuple[Tri, list[Row], str] = (False, [], "")


@dataclass(slots=True)
class _ProductIndex:
    """One product's vulnerable criteria, sorted by shape so that the common ones (a part,
    version bounds or one exact version, nothing else) are checked inline: a
    linux_kernel-sized product has tens of thousands of them."""

    any_version: list[tuple[cpelib.Value, _CpeTest]] = field(default_factory=list)
    exact: dict[Any, list[tuple[cpelib.Value, _CpeTest]]] = field(default_factory=dict)
    ranged: list[tuple[cpelib.Value, Any, bool, Any, bool, _CpeTest]] = field(default_factory=list)
    other: list[_CpeTest] = field(default_factory=list)
    every: list[_CpeTest] = field(default_factory=list)

    def add(self, t: _CpeTest) -> None:
        self.every.append(t)
        name = t.name
        simple = name is not None and t.bounds_readable and all(i == cpelib.PART for i, _v in t.checks)
        if not simple or name is None:
            self.other.append(t)
            return
        part = name[cpelib.PART]
        want = name[cpelib.VERSION]
        lows = [(k, inc) for k, lower, inc in t.bounds if lower]
        highs = [(k, inc) for k, lower, inc in t.bounds if not lower]
        if want is cpelib.ANY and not t.bounds:
            self.any_version.append((part, t))
        elif want is cpelib.ANY and len(lows) <= 1 and len(highs) <= 1:
            lo, lo_inc = lows[0] if lows else (None, True)
            hi, hi_inc = highs[0] if highs else (None, True)
            self.ranged.append((part, lo, lo_inc, hi, hi_inc, t))
        elif _literal(want) and not isinstance(want, cpelib.Wildcard) and not t.bounds:
            key = generic_key(str(want))
            self.exact.setdefault(key if key is not None else ("", str(want)), []).append((part, t))
        else:
            self.other.append(t)

    def run(self, comps: list[_CpeComponent], inv: _Inventory) -> list[_CpeTest]:
        """Every criteria here against every component of the product, into the memo;
        returns the criteria that matched something."""
        found: dict[int, tuple[_CpeTest, list[Row]]] = {}

        def hit(t: _CpeTest, index: int, tri: Tri, why: str) -> None:
            entry = found.get(id(t))
            if entry is None:
                found[id(t)] = (t, [(index, tri is True, why)])
            else:
                entry[1].append((index, tri is True, why))

        for c in comps:
            version = c.version
            k = generic_key(version) if version is not None else None
            if k is None or c.name[cpelib.VERSION] is cpelib.NA:
                for t in self.every:  # the careful path says why it is unsure
                    tri, why = t.test(c.name, version)
                    if tri is not False:
                        hit(t, c.index, tri, why)
                continue
            part = c.name[cpelib.PART]
            if part is cpelib.ANY or part is cpelib.NA:
                candidates = self.every
            else:
                for want, t in self.any_version:
                    if want is cpelib.ANY or want == part:
                        hit(t, c.index, True, t.why)
                for key in (k, ("", (version or "").lower())):
                    for want, t in self.exact.get(key, ()):
                        if want is cpelib.ANY or want == part:
                            hit(t, c.index, True, t.why)
                for want, lo, lo_inc, hi, hi_inc, t in self.ranged:
                    if lo is not None and (k < lo or (k == lo and not lo_inc)):
                        continue
                    if hi is not None and (hi < k or (k == hi and not hi_inc)):
                        continue
                    if want is cpelib.ANY or want == part:
                        hit(t, c.index, True, t.why)
                candidates = self.other
            for t in candidates:
                tri, why = t.test(c.name, version)
                if tri is not False:
                    hit(t, c.index, tri, why)
        for t, matched in found.values():
            best: Tri = True if any(certain for _i, certain, _w in matched) else None
            inv.memo[id(t)] = (best, matched, "")
        return [t for t, _m in found.values()]


def _and(values: Iterable[Tri]) -> Tri:
    out: Tri = True
    for v in values:
        if v is False:
            return False
        if v is None:
            out = None
    return out


def _or(values: Iterable[Tri]) -> Tri:
    out: Tri = False
    for v in values:
        if v is True:
            return True
        if v is None:
            out = None
    return out


def _not(value: Tri) -> Tri:
    return None if value is None else not value


@dataclass(slots=True)
class _Config:
    advisory: str
    operator: str
    negate: bool
    nodes: list[tuple[str, bool, list[_CpeTest]]]  # (operator, negate, tests)
    # NVD's usual shape: OR nodes (one, or several under OR) of vulnerable criteria, no
    # negation — one OR over all its criteria
    simple: bool = False
    tests: tuple[_CpeTest, ...] = ()  # every node's criteria, for the simple shape

    def __post_init__(self) -> None:
        self.tests = tuple(t for _op, _neg, tests in self.nodes for t in tests)
        self.simple = (
            not self.negate
            and (len(self.nodes) == 1 or self.operator.upper() == "OR")
            and all(op.upper() == "OR" and not neg and all(t.vulnerable for t in tests)
                    for op, neg, tests in self.nodes)
        )

    def hits(self, inv: _Inventory) -> list[Row]:
        """(component index, certain, why) for components matched by a vulnerable
        criteria when the configuration holds or cannot be decided."""
        if self.simple:
            # an OR of vulnerable criteria holds exactly when one matched for certain
            out: list[Row] = []
            memo, indexed = inv.memo, inv.indexed
            for t in self.tests:
                found = memo.get(id(t))
                if found is None:
                    if t.indexed and t.key in indexed:
                        continue
                    found = inv.evaluate(t)
                out.extend(found[1])
            return out
        notes: list[str] = []
        node_values: list[Tri] = []
        candidates: list[Row] = []
        for op, neg, tests in self.nodes:
            values: list[Tri] = []
            for t in tests:
                value, matched, note = inv.evaluate(t)
                values.append(value)
                if note:
                    notes.append(note)
                if t.vulnerable and not neg and not self.negate:
                    candidates.extend(matched)
            v = _and(values) if op.upper() == "AND" else _or(values)
            node_values.append(_not(v) if neg else v)
        total = _and(node_values) if self.operator.upper() == "AND" else _or(node_values)
        if self.negate:
            total = _not(total)
        if total is False or not candidates:
            return []
        extra = f"; {'; '.join(dict.fromkeys(notes))}" if total is None and notes else ""
        return [
            (index, certain and total is True, why + (extra if total is None else ""))
            for index, certain, why in candidates
        ]


# ---------------------------------------------------------------------------------------
# JVN products


def _product_norm(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("\\", "")


@dataclass(slots=True)
class _Product:
    advisory: str
    keys: tuple[tuple[str, str], ...]
    label: str
    pv: ProductVersions

    def evaluate(self, version: str | None) -> tuple[Tri, str]:
        pv = self.pv
        why = f"{self.label}: {pv.text or 'all versions'}"
        if not pv.parsed:
            return None, f"{why} (version text not read)"
        if not pv.exact and pv.lower is None and pv.upper is None:
            return True, why
        if version is None:
            return None, f"{why} (version unknown)"
        k = generic_key(version)
        if pv.exact:
            for e in pv.exact:
                if e.lower() == version.lower() or (k is not None and generic_key(e) == k):
                    return True, why
            if pv.lower is None and pv.upper is None:
                return (None, f"{why} (version {version!r} not comparable)") if k is None else (False, "")
        if k is None:
            return None, f"{why} (version {version!r} not comparable)"
        for bound, lower in ((pv.lower, True), (pv.upper, False)):
            if bound is None:
                continue
            b = generic_key(bound.version)
            if b is None:
                return None, f"{why} (bound {bound.version!r} not comparable)"
            if lower and not (k >= b if bound.inclusive else k > b):
                return False, ""
            if not lower and not (k <= b if bound.inclusive else k < b):
                return False, ""
        return True, why


def _compile_product(advisory: str, pv: ProductVersions) -> _Product:
    keys: list[tuple[str, str]] = []
    if pv.cpe:
        try:
            name = cpelib.parse(pv.cpe)
            vendor, product = name[cpelib.VENDOR], name[cpelib.PRODUCT]
            if isinstance(vendor, str) and isinstance(product, str):
                keys.append((vendor, product))
        except ValueError:
            pass
    if pv.vendor and pv.product:
        keys.append((_product_norm(pv.vendor), _product_norm(pv.product)))
    label = pv.cpe or f"{pv.vendor} {pv.product}"
    return _Product(advisory, tuple(dict.fromkeys(keys)), label, pv)


# ---------------------------------------------------------------------------------------
# one-off functions (reference semantics; the Matcher uses the same compiled forms)


def affected_by_package(pkg: AffectedPackage, component: Component, advisory: str = "") -> Hit | None:
    """A Hit when ``component`` is the package and its version is affected (certain or
    flagged), else ``None``. ``advisory`` is copied into the Hit ("osv:GHSA-…")."""
    pid = package_id(component)
    compiled = _compile_package(advisory, pkg)
    if pid is None or compiled is None or pid.key != (compiled.ecosystem.lower(), compiled.name):
        return None
    tri, why = compiled.evaluate(pid)
    return None if tri is False else Hit(component, advisory, why, certain=tri is True)


def configuration_matches(
    config: CpeConfiguration, components: Sequence[Component], advisory: str = ""
) -> list[Hit]:
    """Hits for the components a configuration's vulnerable criteria match, when the
    configuration holds over the whole inventory ``components`` (or cannot be decided:
    then uncertain). Platforms are looked for in the same inventory."""
    inv = _Inventory.of(components)
    compiled = _compile_config(advisory, config, {})
    rows: dict[int, Row] = {}
    for row in compiled.hits(inv):
        _keep(rows, row[0], row)
    return [Hit(components[index], advisory, why, certain)
            for index, certain, why in rows.values()]


def product_matches(pv: ProductVersions, component: Component, advisory: str = "") -> Hit | None:
    """A Hit when the component's CPE names the JVN product and its version is within the
    bounds; ``parsed`` false gives an uncertain hit."""
    if not component.cpe:
        return None
    try:
        name = cpelib.parse(component.cpe)
    except ValueError:
        return None
    compiled = _compile_product(advisory, pv)
    if (name[cpelib.VENDOR], name[cpelib.PRODUCT]) not in compiled.keys:
        return None
    tri, why = compiled.evaluate(_cpe_version(component, name))
    return None if tri is False else Hit(component, advisory, why, certain=tri is True)


def advisory_hits(advisory: Advisory, components: Sequence[Component]) -> list[Hit]:
    """Every hit one record gives over an inventory (the slow, obvious path)."""
    return Matcher([advisory]).match(components)


# ---------------------------------------------------------------------------------------
# the index




def _compile_config(advisory: str, config: CpeConfiguration, cache: dict[CpeMatch, _CpeTest]) -> _Config:
    nodes: list[tuple[str, bool, list[_CpeTest]]] = []
    for node in config.nodes:
        tests: list[_CpeTest] = []
        for m in node.matches:
            t = cache.get(m)
            if t is None:
                t = cache[m] = _compile_cpe_match(m)
            tests.append(t)
        nodes.append((node.operator, node.negate, tests))
    return _Config(advisory, config.operator, config.negate, nodes)


def _keep(hits: dict[Any, Row], key: Any, row: Row) -> None:
    """One hit per (component, record): a certain one wins over a flagged one."""
    old = hits.get(key)
    if old is None or (row[1] and not old[1]):
        hits[key] = row


class Matcher:
    """Many records, compiled once, matched against inventories.

    Packages are indexed by (ecosystem, normalised name), CPE configurations by the
    (vendor, product) of their vulnerable criteria, JVN products by (vendor, product);
    range bounds are parsed to version keys at build time. ``match`` then only touches the
    records that name something in the inventory.
    """

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        with paused_gc():  # building allocates millions of objects, no cycles
            self._build(advisories)

    def _build(self, advisories: Iterable[Advisory]) -> None:
        self.packages: dict[tuple[str, str], list[_Package]] = defaultdict(list)
        # vulnerable criteria by (vendor, product); each knows its configurations
        self.criteria: dict[tuple[str, str], _ProductIndex] = defaultdict(_ProductIndex)
        self.configurations = 0
        self.wild_configs: list[_Config] = []  # vendor/product with wildcards: always tried
        self.products: dict[tuple[str, str], list[_Product]] = defaultdict(list)
        self.records = 0
        tests: dict[CpeMatch, _CpeTest] = {}
        for adv in advisories:
            self.records += 1
            key = f"{adv.source.value}:{adv.id}"
            for pkg in adv.packages:
                compiled = _compile_package(key, pkg)
                if compiled is not None:
                    self.packages[(compiled.ecosystem.lower(), compiled.name)].append(compiled)
            for config in adv.configurations:
                self.configurations += 1
                cc = _compile_config(key, config, tests)
                triggers = {
                    id(t): t
                    for _op, neg, ts in cc.nodes
                    if not neg and not cc.negate
                    for t in ts
                    if t.vulnerable
                }
                if any(t.key is None for t in triggers.values()):
                    self.wild_configs.append(cc)
                    continue
                for t in triggers.values():
                    if not t.indexed and t.key is not None:
                        self.criteria[t.key].add(t)
                        t.indexed = True
                    # a simple OR's hits are the union of its criteria's matches, and
                    # every criteria of one is indexed here: no need to evaluate it
                    if cc.simple:
                        t.simple_records.append(cc.advisory)
                    else:
                        t.configs.append(cc)
            for pv in adv.products:
                cp = _compile_product(key, pv)
                for k in cp.keys:
                    self.products[k].append(cp)

    def match(self, components: Iterable[Component]) -> list[Hit]:
        """Every (component, record) hit over one inventory, one hit per pair; platforms
        for CPE configurations are looked for in the same inventory.

        The cyclic garbage collector is paused for the call: matching allocates no cycles,
        and a full collection walking a quarter-million compiled records costs seconds."""
        comps = list(components)
        with paused_gc():
            return [Hit(comps[index], advisory, why, certain)
                    for (index, advisory), (_i, certain, why) in self._match(comps).items()]

    def match_rows(self, components: Sequence[Component]) -> dict[tuple[int, str], Row]:
        """``match`` as rows, (component index, record key) → (component index, certain,
        why), in the same order: tens of thousands of hits without an object each."""
        with paused_gc():
            return self._match(components)

    def _match(self, comps: Sequence[Component]) -> dict[tuple[int, str], Row]:
        hits: dict[tuple[int, str], Row] = {}
        old: Row | None
        # packages
        for i, c in enumerate(comps):
            pid = package_id(c)
            if pid is None:
                continue
            for p in self.packages.get(pid.key, ()):
                tri, why = p.evaluate(pid)
                if tri is not False:
                    _keep(hits, (i, p.advisory), (i, tri is True, why))
        inv = _Inventory.of(comps)
        # CPE configurations: only those where a vulnerable criteria matched a component
        # are evaluated, once each (criteria results are memoised in the inventory)
        todo: dict[int, _Config] = {}
        for key, members in inv.by_product.items():
            product_index = self.criteria.get(key)
            if product_index is None:
                continue
            for t in product_index.run(members, inv):
                for cc in t.configs:
                    todo[id(cc)] = cc
                if t.simple_records:
                    matched = inv.memo[id(t)][1]
                    for advisory in t.simple_records:
                        for row in matched:  # _keep inline: the hottest loop of a match
                            pair = (row[0], advisory)
                            old = hits.get(pair)
                            if old is None or (row[1] and not old[1]):
                                hits[pair] = row
            inv.indexed.add(key)
        if inv.all:
            for cc in self.wild_configs:
                todo[id(cc)] = cc
        for cc in todo.values():
            for row in cc.hits(inv):
                _keep(hits, (row[0], cc.advisory), row)
        # JVN products
        for entry in inv.all:
            vendor, product = entry.name[cpelib.VENDOR], entry.name[cpelib.PRODUCT]
            if not (_literal(vendor) and _literal(product)):
                continue
            for cp in self.products.get((str(vendor), str(product)), ()):
                tri, why = cp.evaluate(entry.version)
                if tri is not False:
                    _keep(hits, (entry.index, cp.advisory), (entry.index, tri is True, why))
        return hits
