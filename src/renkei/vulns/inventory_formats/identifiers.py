"""Package URLs and CPE names: reading them, and the OSV ecosystem and package name a
matcher compares against. A CPE is never made up from a package name: a package the
inventory names only by name stays a purl (or unmatched) component."""

from __future__ import annotations

import re

from packageurl import PackageURL

from renkei.vulns import cpe
from renkei.vulns.inventory_formats.base import MAX_IDENT, short
from renkei.vulns.model import Component

# purl type -> OSV ecosystem. deb and apk are refined by ``ecosystem_of`` (OSV keeps one
# ecosystem per distribution and release); rpm is left out: OSV's Red Hat, SUSE …
# ecosystem names carry products and channels a purl does not state.
OSV_ECOSYSTEM_BY_PURL_TYPE: dict[str, str] = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "cran": "CRAN",
    "hackage": "Hackage",
    "conan": "ConanCenter",
    "swift": "SwiftURL",
    "github": "GitHub Actions",
    "deb": "Debian",
    "apk": "Alpine",
}

_CODENAMES: dict[str, dict[str, str]] = {
    "debian": {
        "squeeze": "6",
        "wheezy": "7",
        "jessie": "8",
        "stretch": "9",
        "buster": "10",
        "bullseye": "11",
        "bookworm": "12",
        "trixie": "13",
        "forky": "14",
    },
    "ubuntu": {
        "trusty": "14.04",
        "xenial": "16.04",
        "bionic": "18.04",
        "focal": "20.04",
        "jammy": "22.04",
        "noble": "24.04",
    },
}
_DISTRIBUTIONS: dict[str, dict[str, str]] = {
    "deb": {"": "Debian", "debian": "Debian", "ubuntu": "Ubuntu"},
    "apk": {"": "Alpine", "alpine": "Alpine", "wolfi": "Wolfi", "chainguard": "Chainguard"},
}


def ecosystem_of(purl: PackageURL) -> str | None:
    """OSV's ecosystem for a purl; for a distribution's package with its release when the
    ``distro`` qualifier gives it (``Debian:12``, ``Ubuntu:22.04``, ``Alpine:v3.18``), as
    OSV keeps one ecosystem per release. None when OSV has no ecosystem for it."""
    kind = (purl.type or "").lower()
    if kind not in _DISTRIBUTIONS:
        return OSV_ECOSYSTEM_BY_PURL_TYPE.get(kind)
    base = _DISTRIBUTIONS[kind].get((purl.namespace or "").lower())
    if base is None:
        return None  # Kali, Raspbian …: their versions are not Debian's
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    distro = str(qualifiers.get("distro", "")).lower()
    release = _release(base.lower(), distro)
    if release is None or base in ("Wolfi", "Chainguard"):
        return base
    return f"{base}:v{release}" if base == "Alpine" else f"{base}:{release}"


def _release(distribution: str, distro: str) -> str | None:
    text = distro.removeprefix(distribution).lstrip("-")
    if distribution == "debian":
        found = re.fullmatch(r"(\d+)(?:\.\d+)*", text)
    else:
        found = re.fullmatch(r"v?(\d+\.\d+)(?:\.\d+)*", text)
    if found:
        return found[1]
    return _CODENAMES.get(distribution, {}).get(text)


def osv_name(purl: PackageURL) -> str:
    """The package name as OSV writes it in the purl's ecosystem."""
    kind = (purl.type or "").lower()
    namespace = purl.namespace or ""
    if kind == "maven" and namespace:
        return f"{namespace}:{purl.name}"
    if kind in ("npm", "golang", "composer", "swift", "github") and namespace:
        return f"{namespace}/{purl.name}"
    return str(purl.name)


def parse_purl(text: str) -> tuple[PackageURL | None, str | None]:
    """A purl, or why it is not one."""
    if len(text) > MAX_IDENT:
        return None, f"purl too long ({len(text)} characters)"
    try:
        purl = PackageURL.from_string(text)
    except Exception as exc:  # packageurl raises ValueError, and others on odd input
        return None, f"not a valid purl: {_first_line(exc)}"
    return purl, None


def purl_component(
    purl: PackageURL,
    given: str,
    location: str,
    version: str | None = None,
) -> Component:
    """A component for a purl; ``version`` is the inventory's own when the purl has none."""
    own = purl.version or version or None
    return Component(
        given=given,
        version=own,
        purl=purl.to_string(),
        ecosystem=ecosystem_of(purl),
        name=osv_name(purl),
        location=location,
    )


def _first_line(exc: BaseException) -> str:
    return short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160).strip('"')


# --- CPE -----------------------------------------------------------------------------


def read_cpe(text: str) -> tuple[str | None, str | None, str | None, str]:
    """(CPE 2.3 formatted string, version, problem, product) for a CPE 2.3 name or a 2.2
    URI. The version is None when the CPE says ANY (``*``) or NA (``-``): a product of no
    stated version is kept, and the matcher flags it."""
    if len(text) > MAX_IDENT:
        return None, None, f"CPE too long ({len(text)} characters)", ""
    if any(c.isspace() for c in text):
        return None, None, f"whitespace in CPE: {short(text)}", ""
    try:
        name = cpe.parse(text)
    except ValueError as exc:
        return None, None, f"not a CPE 2.3 name or 2.2 URI: {short(str(exc))}", ""
    part, vendor, product, version = name[cpe.PART], name[cpe.VENDOR], name[cpe.PRODUCT], \
        name[cpe.VERSION]
    if part not in ("a", "o", "h"):
        return None, None, f"CPE part must be a, o or h for a product: {short(text)}", ""
    if not isinstance(product, str) or product in (cpe.ANY, cpe.NA) or vendor is cpe.NA:
        return None, None, f"CPE names no product: {short(text)}", ""
    found: str | None = None
    problem: str | None = None
    if isinstance(version, cpe.Wildcard):
        problem = f"CPE version {short(version.text)} is a pattern, not a version"
    elif version is not cpe.ANY and version is not cpe.NA:
        found = version
    return cpe.to_formatted(name), found, problem, str(product)


