"""SBOMs: CycloneDX (JSON and XML) and SPDX 2.x (JSON and tag-value).

A plain walk of the documents rather than cyclonedx-python-lib / spdx-tools: those
libraries validate whole documents and refuse one bad entry, where a member's SBOM must
yield every entry that can be read and a problem for each that cannot."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from xml.etree.ElementTree import Element

from renkei.vulns.inventory_formats.base import MAX_DEPTH, MAX_IDENT, MAX_LINE, Sink, lines, short
from renkei.vulns.inventory_formats.identifiers import parse_purl, purl_component, read_cpe
from renkei.vulns.inventory_formats.text import identifier
from renkei.vulns.model import Component


def sbom_package(
    sink: Sink,
    location: str,
    name: str,
    version: str | None,
    purls: list[str],
    cpes: list[str],
) -> None:
    """One SBOM package: by purl when it has one (its CPE kept beside), else by CPE, else
    kept by name and version but reported: nothing can be matched against a bare name."""
    version = version or None
    if version is not None and len(version) > MAX_IDENT:
        sink.problem(location, "version too long: ignored")
        version = None
    for text in purls:
        purl, problem = parse_purl(text)
        if purl is None:
            sink.problem(location, f"{problem}: {short(text)}")
            continue
        cpe = next((fs for fs in (read_cpe(c)[0] for c in cpes) if fs is not None), None)
        sink.add(replace(purl_component(purl, text, location, version), cpe=cpe))
        return
    for cpe in cpes:
        if identifier(cpe, location, sink, version):
            return
    if not name or len(name) > MAX_IDENT:
        sink.problem(location, "package with no usable name, purl or CPE: skipped")
        return
    given = f"{name}@{version}" if version else name
    component = Component(given, version, name=name, location=location)
    if not sink.malformed(component):  # else reported as such
        sink.add(component)
        sink.problem(location, f"{short(given)} has no purl or CPE: it cannot be matched")


def _strings(value: Any) -> list[str]:
    return [value.strip()] if isinstance(value, str) and value.strip() else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# --- CycloneDX ---------------------------------------------------------------------------


def read_cyclonedx_json(doc: Any, sink: Sink) -> None:
    """``components`` at any depth, and the BOM's subject (``metadata.component``) when it
    carries a purl or CPE (an appliance's SBOM names the appliance there)."""
    if not isinstance(doc, dict):
        sink.problem(sink.at("$"), "not a JSON object")
        return
    stack: list[tuple[Any, str, int]] = []
    top = doc.get("components")
    if isinstance(top, list):
        stack.extend((c, f"$.components[{i}]", 1) for i, c in reversed(list(enumerate(top))))
    elif top is not None:
        sink.problem(sink.at("$.components"), "not a list")
    metadata = doc.get("metadata")
    subject = metadata.get("component") if isinstance(metadata, dict) else None
    if isinstance(subject, dict) and (_text(subject.get("purl")) or _text(subject.get("cpe"))):
        stack.append((subject, "$.metadata.component", 1))
    while stack and not sink.full:
        item, path, depth = stack.pop()
        location = sink.at(path)
        if not isinstance(item, dict):
            sink.problem(location, "component is not a JSON object")
            continue
        name = _text(item.get("name"))
        group = _text(item.get("group"))
        sbom_package(
            sink,
            location,
            f"{group}/{name}" if group and name else name,
            _text(item.get("version")),
            _strings(item.get("purl")),
            _strings(item.get("cpe")),
        )
        children = item.get("components")
        if isinstance(children, list) and children:
            if depth >= MAX_DEPTH:
                sink.problem(
                    location, f"components nested over {MAX_DEPTH} deep: inner ones not read"
                )
                continue
            stack.extend(
                (c, f"{path}.components[{i}]", depth + 1)
                for i, c in reversed(list(enumerate(children)))
            )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def read_cyclonedx_xml(root: Element, sink: Sink) -> None:
    """The XML binding of the same walk: ``/bom/components/component`` at any depth."""
    if _local(root.tag) != "bom":
        sink.problem(sink.at("/"), f"root element is {short(_local(root.tag))}, not bom")
        return
    stack: list[tuple[Element, str, int]] = []
    components = _child(root, "components")
    if components is not None:
        items = [c for c in components if _local(c.tag) == "component"]
        stack.extend(
            (c, f"/bom/components/component[{i + 1}]", 1)
            for i, c in reversed(list(enumerate(items)))
        )
    metadata = _child(root, "metadata")
    subject = _child(metadata, "component") if metadata is not None else None
    if subject is not None and (_child_text(subject, "purl") or _child_text(subject, "cpe")):
        stack.append((subject, "/bom/metadata/component", 1))
    while stack and not sink.full:
        item, path, depth = stack.pop()
        location = sink.at(path)
        name, group = _child_text(item, "name"), _child_text(item, "group")
        sbom_package(
            sink,
            location,
            f"{group}/{name}" if group and name else name,
            _child_text(item, "version"),
            _strings(_child_text(item, "purl")),
            _strings(_child_text(item, "cpe")),
        )
        nested = _child(item, "components")
        if nested is None:
            continue
        if depth >= MAX_DEPTH:
            sink.problem(location, f"components nested over {MAX_DEPTH} deep: inner ones not read")
            continue
        children = [c for c in nested if _local(c.tag) == "component"]
        stack.extend(
            (c, f"{path}/components/component[{i + 1}]", depth + 1)
            for i, c in reversed(list(enumerate(children)))
        )


# --- SPDX ----------------------------------------------------------------------------------

_PURL_TYPES = ("purl",)
_CPE_TYPES = ("cpe23type", "cpe22type")


def read_spdx_json(doc: Any, sink: Sink) -> None:
    """``packages[]``: purl and CPE from ``externalRefs``, version from ``versionInfo``."""
    if not isinstance(doc, dict):
        sink.problem(sink.at("$"), "not a JSON object")
        return
    version = _text(doc.get("spdxVersion"))
    if version and not version.startswith("SPDX-2"):
        sink.problem(sink.at("$.spdxVersion"), f"{short(version)} is not SPDX 2.x: read as 2.x")
    packages = doc.get("packages", [])
    if not isinstance(packages, list):
        sink.problem(sink.at("$.packages"), "not a list")
        return
    for index, package in enumerate(packages):
        if sink.full:
            return
        location = sink.at(f"$.packages[{index}]")
        if not isinstance(package, dict):
            sink.problem(location, "package is not a JSON object")
            continue
        purls: list[str] = []
        cpes: list[str] = []
        refs = package.get("externalRefs", [])
        for ref in refs if isinstance(refs, list) else []:
            if not isinstance(ref, dict):
                continue
            kind = _text(ref.get("referenceType")).lower()
            locator = _strings(ref.get("referenceLocator"))
            if kind in _PURL_TYPES:
                purls += locator
            elif kind in _CPE_TYPES:
                cpes += locator
        name = _text(package.get("name"))
        sbom_package(sink, location, name, _text(package.get("versionInfo")), purls, cpes)


def read_spdx_tag(text: str, sink: Sink) -> None:
    """Tag-value: a package runs from ``PackageName:`` to the next package, file, snippet
    or licence; ``<text>…</text>`` values may span lines and are skipped whole."""
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None and not sink.full:
            sink_location = sink.at(current["line"])
            sbom_package(
                sink,
                sink_location,
                current["name"],
                current["version"],
                current["purls"],
                current["cpes"],
            )

    in_text = False
    for number, raw in enumerate(lines(text), 1):
        if in_text:
            in_text = "</text>" not in raw
            continue
        if len(raw) > MAX_LINE:
            sink.problem(sink.at(number), f"line too long ({len(raw)} characters): skipped")
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tag, sep, value = line.partition(":")
        value = value.strip()
        if not sep:
            sink.problem(sink.at(number), f"not a 'Tag: value' line: {short(line)}")
            continue
        if value.startswith("<text>") and "</text>" not in value:
            in_text = True
            continue
        if tag == "PackageName":
            flush()
            current = {"line": number, "name": value, "version": None, "purls": [], "cpes": []}
        elif tag in ("FileName", "SnippetSPDXID", "LicenseID"):
            flush()
            current = None
        elif current is not None and tag == "PackageVersion":
            current["version"] = value
        elif current is not None and tag == "ExternalRef":
            words = value.split(None, 2)
            if len(words) != 3:
                sink.problem(
                    sink.at(number), f"ExternalRef needs category, type and locator: {short(value)}"
                )
                continue
            kind = words[1].lower()
            if kind in _PURL_TYPES:
                current["purls"].append(words[2].strip())
            elif kind in _CPE_TYPES:
                current["cpes"].append(words[2].strip())
    flush()
