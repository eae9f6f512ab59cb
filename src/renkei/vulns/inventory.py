"""A member's inventory -> ``Component`` values: "is my software affected?".

Members send what they have: a list of purls or CPE names (the "CPE names for products
and appliances" form), a ``requirements.txt`` or ``pip freeze``, a poetry, uv, Cargo or
npm lock, a CycloneDX or SPDX SBOM, a dpkg status file. Each entry that cannot be read
becomes an ``InventoryProblem`` (file:line or JSON path) and the rest is still read: a
member with one odd line should get an answer for the other 999. No input makes these
functions raise; files over 64 MiB are refused, and at most 200,000 components are read.

``Component.given`` is the entry as the member wrote it: the purl or CPE when the format
carries one, else the ecosystem's own spelling (``Django==4.2.1``, ``lodash@4.17.21``,
``libc6:amd64=2.36-9``). ``name`` is the package name as OSV writes it in its ecosystem
(``@scope/pkg``, ``group:artifact``, the Debian source package). A CPE is never guessed
from a package name. Duplicates within one inventory are kept once (see ``Sink``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as defused_fromstring

from renkei.vulns.inventory_formats.base import (
    MAX_BYTES,
    MAX_COMPONENTS,
    Inventory,
    InventoryProblem,
    Sink,
    decode,
    short,
)
from renkei.vulns.inventory_formats.identifiers import OSV_ECOSYSTEM_BY_PURL_TYPE, ecosystem_of
from renkei.vulns.inventory_formats.locks import read_cargo_lock, read_npm_lock, read_python_lock
from renkei.vulns.inventory_formats.sbom import (
    read_cyclonedx_json,
    read_cyclonedx_xml,
    read_spdx_json,
    read_spdx_tag,
)
from renkei.vulns.inventory_formats.text import (
    read_dpkg_status,
    read_identifier_list,
    read_requirements,
)

__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "MAX_COMPONENTS",
    "OSV_ECOSYSTEM_BY_PURL_TYPE",
    "UNSUPPORTED",
    "Inventory",
    "InventoryProblem",
    "detect_inventory_format",
    "ecosystem_of",
    "parse_inventory",
    "read_inventory",
]

_SNIFF = 64 * 1024  # how much of a file format detection looks at


# --- reading ------------------------------------------------------------------------------


_CONTROL = frozenset(chr(c) for c in (*range(32), *range(0x7F, 0xA0))) - set("\t\n\r\f\v")


def _binary(sample: str) -> bool:
    """Whether text is an executable's or an image's: control characters over 1 % of it.
    A stray NUL or two in a member's list is not: its entries are reported one by one
    (``Sink.add``) and the rest is read."""
    return sum(c in _CONTROL for c in sample) > max(2, len(sample) // 100)


def _text(data: bytes, sink: Sink) -> str | None:
    """The decoded text, or None (and one problem) for binary content: a line-by-line
    reader would otherwise report every line of an executable."""
    text, note = decode(data)
    if note:
        sink.problem(sink.name, note)
    if _binary(text[:_SNIFF]):
        sink.problem(sink.name, "binary content, not text: nothing read")
        return None
    return text


def _json(data: bytes, sink: Sink) -> tuple[bool, Any]:
    text = _text(data, sink)
    if text is None:
        return False, None
    try:
        return True, json.loads(text)
    except json.JSONDecodeError as exc:
        sink.problem(
            sink.at(f"{exc.lineno}:{exc.colno}"), f"not valid JSON: {exc.msg}: nothing read"
        )
    except RecursionError:
        sink.problem(sink.name, "JSON nested too deeply to read: nothing read")
    return False, None


def _with_json(reader: Callable[[Any, Sink], None]) -> Callable[[bytes, Sink], None]:
    def read(data: bytes, sink: Sink) -> None:
        ok, doc = _json(data, sink)
        if ok:
            reader(doc, sink)

    return read


def _with_toml(reader: Callable[[Any, Sink], None]) -> Callable[[bytes, Sink], None]:
    def read(data: bytes, sink: Sink) -> None:
        text = _text(data, sink)
        if text is None:
            return
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            sink.problem(sink.name, f"not valid TOML: {short(str(exc), 200)}: nothing read")
            return
        reader(doc, sink)

    return read


def _cyclonedx_xml(data: bytes, sink: Sink) -> None:
    try:
        root = defused_fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        sink.problem(
            sink.at(f"{line}:{column}"),
            f"not well-formed XML: {short(str(exc), 160)}: nothing read",
        )
        return
    except DefusedXmlException as exc:
        sink.problem(sink.name, f"XML with a DTD or entities is refused ({type(exc).__name__})")
        return
    read_cyclonedx_xml(root, sink)


def _texts(reader: Callable[[str, Sink], None]) -> Callable[[bytes, Sink], None]:
    def read(data: bytes, sink: Sink) -> None:
        text = _text(data, sink)
        if text is not None:
            reader(text, sink)

    return read


_READERS: dict[str, Callable[[bytes, Sink], None]] = {
    "purl-list": _texts(read_identifier_list),
    "cpe-list": _texts(read_identifier_list),
    "requirements": _texts(read_requirements),
    "poetry-lock": _with_toml(read_python_lock),
    "uv-lock": _with_toml(read_python_lock),
    "cargo-lock": _with_toml(read_cargo_lock),
    "npm-lock": _with_json(read_npm_lock),
    "cyclonedx-json": _with_json(read_cyclonedx_json),
    "cyclonedx-xml": _cyclonedx_xml,
    "spdx-json": _with_json(read_spdx_json),
    "spdx-tag": _texts(read_spdx_tag),
    "dpkg-status": _texts(read_dpkg_status),
}
FORMATS: tuple[str, ...] = tuple(_READERS)


def parse_inventory(data: bytes, name: str, *, format: str | None = None) -> Inventory:
    """Read an inventory's bytes; ``name`` (its file name) helps detection and is the
    location's prefix. ``format`` (one of ``FORMATS``) skips detection. Never raises."""
    sink = Sink(name)
    if len(data) > MAX_BYTES:
        sink.problem(name, f"{len(data)} bytes is over the {MAX_BYTES}-byte limit: not read")
        return sink.result(format or "unknown")
    try:
        chosen = format or detect_inventory_format(data, name)
    except Exception:  # detection is heuristics over hostile bytes: be safe
        chosen = None
    reader = _READERS.get(chosen or "")
    if chosen is None or reader is None:
        base_name = PurePosixPath(name.replace("\\", "/")).name
        if chosen:
            what = f"unknown format {short(chosen)}"
        elif base_name.lower() in UNSUPPORTED:
            what = f"{base_name} is not read (yet): send an SBOM made from it (CycloneDX or SPDX)"
        else:
            what = "not a recognised inventory format"
        sink.problem(name, f"{what}; accepted: {', '.join(FORMATS)}")
        return sink.result("unknown")
    try:
        reader(data, sink)
    except RecursionError:
        sink.problem(name, "nested too deeply to read: the rest was not read")
    except Exception as exc:  # a reader's bug must not lose the whole inventory
        sink.problem(
            name, f"could not be read further ({type(exc).__name__}): the rest was not read"
        )
    return sink.result(chosen)


def read_inventory(path: Path) -> Inventory:
    """Read an inventory file; a file too large is refused before it is read."""
    sink = Sink(str(path))
    try:
        if path.stat().st_size > MAX_BYTES:
            sink.problem(str(path), f"over the {MAX_BYTES}-byte limit: not read")
            return sink.result("unknown")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        sink.problem(str(path), f"cannot read: {exc.strerror or type(exc).__name__}")
        return sink.result("unknown")
    return parse_inventory(data, str(path))


# --- detection ----------------------------------------------------------------------------

_JSON_MARKERS = (
    (re.compile(r'"bomFormat"\s*:\s*"CycloneDX"'), "cyclonedx-json"),
    (re.compile(r'"spdxVersion"\s*:'), "spdx-json"),
    (re.compile(r'"lockfileVersion"\s*:'), "npm-lock"),
)
# a requirement with a version or a URL: a bare word ("GEM" in a Gemfile.lock) is not one,
# nor is yarn.lock's "lodash@^4.17.21:"
_REQUIREMENT = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\]\s*)?(?:(?:===?|~=|!=|>=|<=)\s*[0-9]|[<>]\s*[0-9]|@\s*[a-z][a-z0-9+.-]*://)"
)
# lock files we do not read: named, so the member is told what to send instead
UNSUPPORTED = frozenset(
    {
        "yarn.lock",
        "pnpm-lock.yaml",
        "gemfile.lock",
        "go.sum",
        "go.mod",
        "composer.lock",
        "pipfile.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "pom.xml",
    }
)


def detect_inventory_format(data: bytes, name: str) -> str | None:
    """The format, from what the content says for sure, then the file name, then weaker
    signs in the content (a first line that is a purl, CPE or requirement). Never raises."""
    try:
        if PurePosixPath(name.replace("\\", "/")).name.lower() in UNSUPPORTED:
            return None
        text, _note = decode(data[:_SNIFF])
        strong = _strong(text)
        if strong:
            return strong
        named = _by_name(name)
        if named:
            return named
        return _weak(text, data)
    except Exception:
        return None


def _by_name(name: str) -> str | None:
    full = name.replace("\\", "/").lower()
    base = PurePosixPath(full).name
    fixed = {
        "poetry.lock": "poetry-lock",
        "uv.lock": "uv-lock",
        "cargo.lock": "cargo-lock",
        "package-lock.json": "npm-lock",
        "npm-shrinkwrap.json": "npm-lock",
        ".package-lock.json": "npm-lock",
        "bom.json": "cyclonedx-json",
        "bom.xml": "cyclonedx-xml",
    }
    if base in fixed:
        return fixed[base]
    suffixes = (
        ((".cdx.json", ".cyclonedx.json"), "cyclonedx-json"),
        ((".cdx.xml", ".cyclonedx.xml"), "cyclonedx-xml"),
        ((".spdx.json",), "spdx-json"),
        ((".spdx",), "spdx-tag"),
    )
    for ends, found in suffixes:
        if base.endswith(ends):
            return found
    if full.endswith("dpkg/status"):
        return "dpkg-status"
    if re.fullmatch(r".*(?:requirements|constraints).*\.(?:txt|in)", base):
        return "requirements"
    return None


def _strong(text: str) -> str | None:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        for pattern, found in _JSON_MARKERS:
            if pattern.search(head):
                return found
        return None
    if head.startswith("<"):
        if "cyclonedx.org/schema/bom" in head or re.search(r"<bom[\s>]", head):
            return "cyclonedx-xml"
        return None
    if re.search(r"^SPDXVersion:\s*SPDX-", head, re.MULTILINE):
        return "spdx-tag"
    if re.search(r"^Package:[ \t]*\S", head, re.MULTILINE) and re.search(
        r"^Status:[ \t]*\S", head, re.MULTILINE
    ):
        return "dpkg-status"
    if re.search(r"^\[\[package\]\]", head, re.MULTILINE):
        return _toml_lock(head)
    return None


def _toml_lock(head: str) -> str | None:
    """Which tool wrote a TOML lock: Cargo.lock has the same ``[[package]]`` shape as
    poetry.lock and uv.lock, and its crates must not be read as PyPI packages."""
    if "@generated by Cargo" in head or re.search(
        r'^source\s*=\s*"(?:registry|sparse|git)\+', head, re.MULTILINE
    ):
        return "cargo-lock"
    if "@generated by Poetry" in head or re.search(r"^python-versions\s*=", head, re.MULTILINE):
        return "poetry-lock"
    if re.search(r"^requires-python\s*=", head, re.MULTILINE) or re.search(
        r"^source\s*=\s*\{\s*(?:registry|editable|virtual)\s*=", head, re.MULTILINE
    ):
        return "uv-lock"
    return None


def _weak(text: str, data: bytes) -> str | None:
    head = text.lstrip("\ufeff \t\r\n")
    if _binary(head):
        return None  # not text in a known encoding
    if head.startswith("{") and len(data) <= MAX_BYTES:
        return _json_by_keys(data)
    meaningful = [
        line.strip()
        for line in head.replace("\r", "\n").split("\n")[:200]
        if line.strip() and not line.strip().startswith("#")
    ]
    if not meaningful:
        return None
    ids = [line[:4].lower() in ("pkg:", "cpe:") for line in meaningful]
    if ids[0]:
        cpes = all(line[:4].lower() == "cpe:" for line in meaningful)
        return "cpe-list" if cpes else "purl-list"
    packages = [line for line in meaningful if not line.startswith("-")][:20]
    if packages and all(_REQUIREMENT.match(line) for line in packages):
        return "requirements"
    return None


def _json_by_keys(data: bytes) -> str | None:
    """Markers were not in the first 64 KiB: look at the parsed document's keys."""
    try:
        doc = json.loads(decode(data)[0])
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("bomFormat") == "CycloneDX":
        return "cyclonedx-json"
    if "spdxVersion" in doc:
        return "spdx-json"
    if "lockfileVersion" in doc:
        return "npm-lock"
    return None
