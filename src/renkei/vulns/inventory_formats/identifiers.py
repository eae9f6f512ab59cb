"""Package URLs and CPE names: reading them, and the OSV ecosystem and package name a
matcher compares against. A CPE is never made up from a package name: a package the
inventory names only by name stays a purl (or unmatched) component."""

from __future__ import annotations

import re

from packageurl import PackageURL

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

_FS_FIELDS = 11  # part … other, after "cpe:2.3:"


def split_fs(text: str) -> list[str] | None:
    """The fields of a CPE 2.3 formatted string, split on unescaped colons."""
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        return None
    fields.append("".join(current))
    return fields


def _has_wildcard(value: str) -> bool:
    """An unescaped ``*`` or ``?``: a pattern, not a value."""
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            return True
    return False


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def read_cpe(text: str) -> tuple[str | None, str | None, str | None, str]:
    """(CPE 2.3 formatted string, version, problem, product) for a CPE 2.3 name or a 2.2
    URI. The version is None when the CPE says ANY (``*``) or NA (``-``): a product of no
    stated version is kept, and the matcher flags it."""
    if len(text) > MAX_IDENT:
        return None, None, f"CPE too long ({len(text)} characters)", ""
    lowered = text.lower()
    if lowered.startswith("cpe:/"):
        bound, why = uri_to_fs(text)
        if bound is None:
            return None, None, why, ""
        fs = bound
    elif lowered.startswith("cpe:2.3:"):
        fs = lowered
    else:
        return None, None, "not a CPE 2.3 name or 2.2 URI", ""
    fields = split_fs(fs)
    if fields is None or len(fields) != 2 + _FS_FIELDS:
        return None, None, f"a CPE 2.3 name has 13 colon-separated fields: {short(text)}", ""
    if any(not field for field in fields) or any(c.isspace() for c in fs):
        return None, None, f"empty field or whitespace in CPE: {short(text)}", ""
    part, product, raw_version = fields[2], fields[4], fields[5]
    if part not in ("a", "o", "h"):
        return None, None, f"CPE part must be a, o or h for a product: {short(text)}", ""
    if product in ("*", "-") or fields[3] in ("-",):
        return None, None, f"CPE names no product: {short(text)}", ""
    version: str | None = None
    problem: str | None = None
    if raw_version not in ("*", "-"):
        if _has_wildcard(raw_version):
            problem = f"CPE version {short(raw_version)} is a pattern, not a version"
        else:
            version = _unescape(raw_version)
    return fs, version, problem, _unescape(product)


def uri_to_fs(uri: str) -> tuple[str | None, str | None]:
    """Bind a CPE 2.2 URI to a 2.3 formatted string (NISTIR 7695 §6.1.3 and §6.2.2):
    empty -> ``*``, ``-`` -> ``-``, ``%01``/``%02`` at an end -> ``?``/``*``, punctuation
    other than ``. - _`` backslash-escaped, and a packed ``~`` edition unpacked."""
    body = uri[5:]
    parts = body.split(":")
    if len(parts) > 7:
        return None, f"a CPE 2.2 URI has at most 7 components: {short(uri)}"
    parts += [""] * (7 - len(parts))
    values: list[str] = []
    extended = ["*", "*", "*", "*"]
    for index, raw in enumerate(parts):
        if index == 5 and raw.startswith("~"):
            packed = raw[1:].split("~")
            if len(packed) != 5:
                return None, f"packed edition must have 5 parts: {short(uri)}"
            edition_values: list[str] = []
            for item in packed:
                value, problem = _decode_uri_value(item)
                if value is None:
                    return None, problem
                edition_values.append(value)
            values.append(edition_values[0])
            extended = edition_values[1:]
            continue
        value, problem = _decode_uri_value(raw)
        if value is None:
            return None, problem
        values.append(value)
    part, vendor, product, version, update, edition, language = values
    # FS order: part vendor product version update edition language sw_edition target_sw target_hw other
    return ":".join(
        ["cpe", "2.3", part, vendor, product, version, update, edition, language, *extended]
    ), None


def _decode_uri_value(raw: str) -> tuple[str | None, str | None]:
    if raw == "":
        return "*", None
    if raw == "-":
        return "-", None
    out: list[str] = []
    index = 0
    text = raw.lower()
    while index < len(text):
        char = text[index]
        if char == "%":
            code = text[index + 1 : index + 3]
            if len(code) != 2 or not all(c in "0123456789abcdef" for c in code):
                return None, f"bad percent-encoding in CPE URI: {short(raw)}"
            if code in ("01", "02"):
                at_end = index == 0 or index + 3 == len(text)
                if not at_end and code == "02":
                    return None, f"'*' only at the start or end of a CPE value: {short(raw)}"
                out.append("?" if code == "01" else "*")
            else:
                out.append(_fs_char(chr(int(code, 16))))
            index += 3
            continue
        out.append(_fs_char(char))
        index += 1
    return "".join(out), None


def _fs_char(char: str) -> str:
    if char.isalnum() or char in "._-":
        return char
    return "\\" + char
