"""Lock files: npm's package-lock.json (lockfileVersion 1, 2, 3), Poetry's and uv's lock,
Cargo.lock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from renkei.vulns.inventory_formats.base import MAX_DEPTH, MAX_IDENT, Sink, jkey, short
from renkei.vulns.model import Component

_NPM_NAME = re.compile(r"(?:@[a-z0-9][\w.~-]*/)?[\w.~-][\w.~-]*", re.IGNORECASE)


def _npm_component(sink: Sink, location: str, name: str, version: Any) -> None:
    if len(name) > 214 or not _NPM_NAME.fullmatch(name):
        sink.problem(location, f"not an npm package name: {short(name)}")
        return
    text = version.strip() if isinstance(version, str) else ""
    if text.startswith("npm:"):  # an alias ("npm:real-name@1.2.3"): the real package
        real, _, text = text[4:].rpartition("@")
        if len(real) <= 214 and _NPM_NAME.fullmatch(real):
            name = real
    pinned: str | None = text
    if not text or len(text) > MAX_IDENT or re.search(r"[:/#\s]", text):
        pinned = None  # git, file: or tarball URL versions are not registry versions
    namespace, _, bare = name.rpartition("/")
    purl = PackageURL("npm", namespace or None, bare, pinned)
    given = f"{name}@{pinned}" if pinned else name
    sink.add(Component(given, pinned, purl.to_string(), None, "npm", name, location))
    if pinned is None:
        what = f"version {short(text)} is not a registry version" if text else "no version"
        sink.problem(location, f"{name}: {what}: version unknown")


def read_npm_lock(doc: Any, sink: Sink) -> None:
    """v2/v3: the flat ``packages`` map, named by ``name`` or by the path after its last
    ``node_modules/``; the root (``""``), workspace folders and ``link`` entries (the
    target is listed on its own) are the member's own code, not packages. v1: the nested
    ``dependencies`` tree, walked without recursion."""
    if not isinstance(doc, dict):
        sink.problem(sink.at("$"), "not a JSON object")
        return
    packages = doc.get("packages")
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if sink.full:
                return
            location = sink.at("$.packages" + jkey(str(key)))
            if not isinstance(key, str) or "node_modules/" not in key:
                continue
            if not isinstance(entry, dict):
                sink.problem(location, "entry is not a JSON object")
                continue
            if entry.get("link") is True:
                continue
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                name = key.rsplit("node_modules/", 1)[-1]
            _npm_component(sink, location, name, entry.get("version"))
        return
    if packages is not None:
        sink.problem(sink.at("$.packages"), "not an object")
    dependencies = doc.get("dependencies")
    if dependencies is None:
        return
    stack: list[tuple[Any, str, int]] = [(dependencies, "$.dependencies", 1)]
    while stack and not sink.full:
        tree, path, depth = stack.pop()
        if not isinstance(tree, dict):
            sink.problem(sink.at(path), "not an object")
            continue
        children: list[tuple[Any, str, int]] = []
        for name, entry in tree.items():
            location = f"{path}{jkey(str(name))}"
            if not isinstance(entry, dict):
                sink.problem(sink.at(location), "entry is not a JSON object")
                continue
            _npm_component(sink, sink.at(location), str(name), entry.get("version"))
            nested = entry.get("dependencies")
            if nested is not None:
                if depth >= MAX_DEPTH:
                    sink.problem(
                        sink.at(location),
                        f"dependencies nested over {MAX_DEPTH} deep: inner ones not read",
                    )
                else:
                    children.append((nested, f"{location}.dependencies", depth + 1))
        stack.extend(reversed(children))


def _lock_packages(doc: Any, sink: Sink) -> Iterator[tuple[str, dict[str, Any], str, str | None]]:
    """``[[package]]`` tables of a TOML lock: (location, table, name, version)."""
    if not isinstance(doc, dict):
        sink.problem(sink.at("$"), "not a TOML table")
        return
    packages = doc.get("package", [])
    if not isinstance(packages, list):
        sink.problem(sink.at("$.package"), "not an array of tables")
        return
    for index, package in enumerate(packages):
        if sink.full:
            return
        location = sink.at(f"$.package[{index}]")
        if not isinstance(package, dict):
            sink.problem(location, "not a table")
            continue
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_IDENT:
            sink.problem(location, f"package without a usable name: {short(name)}")
            continue
        pinned = version.strip() if isinstance(version, str) else ""
        yield location, package, name.strip(), pinned if 0 < len(pinned) <= MAX_IDENT else None


def read_python_lock(doc: Any, sink: Sink) -> None:
    """``[[package]]`` of poetry.lock and uv.lock. A package from git, a URL or a local
    path keeps its PyPI purl (the name is what advisories use) with the source in the
    purl's standard ``vcs_url`` / ``download_url`` qualifier; its version may not be a
    PyPI release. uv's project itself (``editable``/``virtual`` source) is not a package."""
    for location, package, name, pinned in _lock_packages(doc, sink):
        source = package.get("source")
        if isinstance(source, dict) and ("editable" in source or "virtual" in source):
            continue
        normal = canonicalize_name(name)
        purl = PackageURL("pypi", None, normal, pinned, _source_qualifier(source))
        given = f"{name}=={pinned}" if pinned else name
        sink.add(Component(given, pinned, purl.to_string(), None, "PyPI", normal, location))
        if pinned is None:
            sink.problem(location, f"{short(name)} has no version: version unknown")


_CRATES_IO = (
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
)


def read_cargo_lock(doc: Any, sink: Sink) -> None:
    """Cargo.lock: a package without ``source`` is a crate of the member's own workspace,
    not a crates.io release, and is left out; git and other registries are kept with the
    source as a qualifier (``vcs_url`` / ``repository_url``)."""
    for location, package, name, pinned in _lock_packages(doc, sink):
        source = package.get("source")
        if not isinstance(source, str):
            continue
        qualifiers: dict[str, str] = {}
        if source.startswith("git+"):
            qualifiers["vcs_url"] = source
        elif not source.startswith(_CRATES_IO):
            qualifiers["repository_url"] = source.split("+", 1)[-1]
        purl = PackageURL("cargo", None, name, pinned, qualifiers)
        given = f"{name}@{pinned}" if pinned else name
        sink.add(Component(given, pinned, purl.to_string(), None, "crates.io", name, location))
        if pinned is None:
            sink.problem(location, f"{short(name)} has no version: version unknown")


def _source_qualifier(source: Any) -> dict[str, str]:
    if not isinstance(source, dict):
        return {}
    kind, url = source.get("type"), source.get("url")
    if isinstance(kind, str) and isinstance(url, str):  # poetry: {type, url, reference}
        if kind == "git":
            ref = source.get("resolved_reference") or source.get("reference")
            return {"vcs_url": f"git+{url}@{ref}" if isinstance(ref, str) else f"git+{url}"}
        if kind in ("url", "file", "directory"):
            return {"download_url": url}
        return {"repository_url": url} if kind == "legacy" else {}
    for key, qualifier in (("git", "vcs_url"), ("url", "download_url"), ("path", "download_url")):
        value = source.get(key)  # uv: {git = "…"} / {url = "…"} / {path = "…"}
        if isinstance(value, str):
            return {qualifier: f"git+{value}" if key == "git" else value}
    registry = source.get("registry")
    if isinstance(registry, str) and not registry.startswith("https://pypi.org/"):
        return {"repository_url": registry}
    return {}
