"""Line formats: purl/CPE lists, pip requirements (and ``pip freeze``), dpkg status."""

from __future__ import annotations

import re

from packageurl import PackageURL
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from renkei.vulns.inventory_formats.base import MAX_IDENT, MAX_LINE, Sink, lines, short
from renkei.vulns.inventory_formats.identifiers import (
    ecosystem_of,
    parse_purl,
    purl_component,
    read_cpe,
)
from renkei.vulns.model import Component


def identifier(text: str, location: str, sink: Sink, version: str | None = None) -> bool:
    """Add the component a purl or CPE names; false (and a problem) when it names none.
    ``version`` is one the inventory states beside the identifier."""
    if text[:4].lower() == "pkg:":
        purl, problem = parse_purl(text)
        if purl is None:
            sink.problem(location, f"{problem}: {short(text)}")
            return False
        sink.add(purl_component(purl, text, location, version))
        return True
    if text[:4].lower() == "cpe:":
        fs, cpe_version, problem, product = read_cpe(text)
        if problem is not None:
            sink.problem(location, problem)
        if fs is None:
            return False
        sink.add(Component(text, cpe_version or version, cpe=fs, name=product, location=location))
        return True
    sink.problem(location, f"neither a purl (pkg:…) nor a CPE (cpe:…): {short(text)}")
    return False


def _too_long(sink: Sink, number: int, line: str) -> bool:
    if len(line) > MAX_LINE:
        sink.problem(sink.at(number), f"line too long ({len(line)} characters): skipped")
        return True
    return False


def read_identifier_list(text: str, sink: Sink) -> None:
    """One purl or CPE per line. No trailing comments: ``#`` starts a purl's subpath."""
    for number, raw in enumerate(lines(text), 1):
        if sink.full:
            return
        if _too_long(sink, number, raw):
            continue
        line = raw.strip()
        if line and not line.startswith("#"):
            identifier(line, sink.at(number), sink)


# --- requirements.txt ------------------------------------------------------------------

_OPTION = re.compile(r"--?[A-Za-z]")  # --hash=…, --config-settings …: per-requirement options


def _uncomment(line: str) -> str:
    """pip's rule: ``#`` starts a comment at the line's start or after a blank (a scan,
    not a regex: a blanks-then-# pattern backtracks quadratically on long blank runs)."""
    index = line.find("#")
    while index != -1:
        if index == 0 or line[index - 1].isspace():
            return line[:index]
        index = line.find("#", index + 1)
    return line


def _logical_lines(text: str, sink: Sink) -> list[tuple[int, str]]:
    """Lines with comments removed and ``\\`` continuations joined, each with the number
    of its first physical line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    size = 0
    start = 0
    for number, raw in enumerate(lines(text), 1):
        if _too_long(sink, number, raw):
            pending, size = [], 0
            continue
        if size > MAX_LINE:
            sink.problem(sink.at(start), f"continued line over {MAX_LINE} characters: skipped")
            pending, size = [], 0
        line = _uncomment(raw)
        if not pending:
            start = number
        pending.append(line[:-1] if line.endswith("\\") else line)
        size += len(line) + 1
        if not line.endswith("\\"):
            out.append((start, " ".join(pending)))
            pending, size = [], 0
    if pending:
        out.append((start, " ".join(pending)))
    return out


def _without_options(line: str) -> str:
    words = line.split()
    for index, word in enumerate(words):
        if index and _OPTION.match(word):
            return " ".join(words[:index])
    return " ".join(words)


def read_requirements(text: str, sink: Sink) -> None:
    """Pinned requirements give a version; an unpinned or URL requirement is still kept
    (version unknown, with a problem saying so). Markers are not evaluated: the file may
    be for another interpreter or platform than this one."""
    for number, logical in _logical_lines(text, sink):
        if sink.full:
            return
        line = logical.strip()
        if not line or line.startswith("-"):
            continue  # -r/-c/-e/--index-url …: options, not packages
        line = _without_options(line)
        location = sink.at(number)
        if len(line) > MAX_IDENT:
            sink.problem(location, f"requirement too long ({len(line)} characters): skipped")
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0] if str(exc) else "invalid"
            sink.problem(location, f"not a requirement ({short(first, 120)}): {short(line)}")
            continue
        version = _pinned(req)
        name = canonicalize_name(req.name)
        purl = PackageURL(type="pypi", name=name, version=version)
        sink.add(Component(line, version, purl.to_string(), None, "PyPI", name, location))
        if req.url:
            sink.problem(location, f"URL requirement, version unknown: {short(line)}")
        elif version is None:
            sink.problem(location, f"not pinned (== version): version unknown: {short(line)}")


def _pinned(req: Requirement) -> str | None:
    exact = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    return exact[0].version if len(exact) == 1 else None


# --- dpkg status -------------------------------------------------------------------------

_FIELD = re.compile(r"([A-Za-z0-9][!-9;-~]*):[ \t]*(.*)")
_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]*")
_DEB_VERSION = re.compile(r"(?:[0-9]+:)?[A-Za-z0-9.+~-]+(?::[A-Za-z0-9.+~-]+)*")
_SOURCE = re.compile(r"([a-z0-9][a-z0-9+.-]*)(?:\s*\(\s*([^()\s]+)\s*\))?")


def _paragraphs(text: str, sink: Sink) -> list[tuple[int, dict[str, str]]]:
    out: list[tuple[int, dict[str, str]]] = []
    fields: dict[str, str] = {}
    start = 0
    for number, raw in enumerate(lines(text), 1):
        if len(raw) > MAX_LINE:
            sink.problem(sink.at(number), f"line too long ({len(raw)} characters): skipped")
            continue
        if not raw.strip():
            if fields:
                out.append((start, fields))
            fields = {}
            continue
        if raw[0] in " \t":
            continue  # continuation of a multi-line field (Description, Conffiles …)
        found = _FIELD.fullmatch(raw)
        if found is None:
            sink.problem(sink.at(number), f"not a 'Field: value' line: {short(raw)}")
            continue
        if not fields:
            start = number
        fields[found[1].lower()] = found[2].strip()
    if fields:
        out.append((start, fields))
    return out


def read_dpkg_status(
    text: str, sink: Sink, namespace: str = "debian", distro: str | None = None
) -> None:
    """Installed packages of a dpkg status file.

    The purl names the binary package (``pkg:deb/debian/libc6@2.36-9?arch=amd64``) with
    ``source=<src>`` when the source package differs; ``name`` and ``version`` are the
    source package's, because Debian's trackers and OSV's Debian records are keyed on
    source packages and their versions (``gcc`` 4:12.2.0-3 is built from ``gcc-defaults``
    1.203). Packages held (``hold ok installed``) are installed too; config-files,
    half-installed and the like are skipped."""
    for start, fields in _paragraphs(text, sink):
        if sink.full:
            return
        location = sink.at(start)
        package = fields.get("package", "")
        if not package:
            sink.problem(location, "paragraph without a Package field")
            continue
        status = fields.get("status", "").split()
        if not status:
            sink.problem(location, f"{short(package)} has no Status field: skipped")
            continue
        if status[1:] != ["ok", "installed"] or status[0] not in ("install", "hold"):
            continue
        version = fields.get("version", "")
        if len(package) > 200 or not _DEB_NAME.fullmatch(package):
            sink.problem(location, f"not a Debian package name: {short(package)}")
            continue
        if len(version) > 200 or not _DEB_VERSION.fullmatch(version):
            sink.problem(location, f"{package}: not a Debian version: {short(version)}")
            continue
        arch = fields.get("architecture", "")
        source_name, source_version = package, version
        source = _SOURCE.fullmatch(fields.get("source", ""))
        if source is not None:
            source_name = source[1]
            source_version = source[2] or version
        elif fields.get("source"):
            sink.problem(location, f"{package}: unreadable Source field: {short(fields['source'])}")
        qualifiers: dict[str, str] = {}
        if arch and re.fullmatch(r"[a-z0-9-]+", arch):
            qualifiers["arch"] = arch
        if distro:
            qualifiers["distro"] = distro
        if source_name != package:
            qualifiers["source"] = source_name
        purl = PackageURL("deb", namespace, package, version, qualifiers)
        given = f"{package}:{arch}={version}" if arch else f"{package}={version}"
        sink.add(
            Component(
                given=given,
                version=source_version,
                purl=purl.to_string(),
                ecosystem=ecosystem_of(purl),
                name=source_name,
                location=location,
            )
        )
