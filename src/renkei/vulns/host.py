"""check-host: this machine's own software as an inventory (its Python distributions, and
its Debian packages when dpkg is here), so the hub can check itself as members do."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from renkei.vulns.inventory_formats.base import MAX_BYTES, MAX_IDENT, Inventory, Sink, decode
from renkei.vulns.inventory_formats.text import read_dpkg_status
from renkei.vulns.model import Component

FORMAT = "host"


def host_inventory(
    dpkg_status: Path | None = Path("/var/lib/dpkg/status"),
    *,
    os_release: Path | None = Path("/etc/os-release"),
    python_path: Sequence[str] | None = None,
) -> Inventory:
    """Python distributions found on ``python_path`` (``sys.path`` by default) as PyPI
    purls, located at their metadata directory; then, when ``dpkg_status`` exists, its
    installed packages, their purls naming the distribution from ``os_release``
    (``pkg:deb/debian/…?distro=debian-12``, ecosystem ``Debian:12``)."""
    sink = Sink("host")
    _python(sink, list(sys.path if python_path is None else python_path))
    if dpkg_status is not None and dpkg_status.is_file():
        namespace, distro = read_os_release(os_release)
        try:
            with dpkg_status.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            sink.problem(str(dpkg_status), f"cannot read: {exc.strerror or type(exc).__name__}")
            return sink.result(FORMAT)
        if len(data) > MAX_BYTES:
            sink.problem(str(dpkg_status), f"over the {MAX_BYTES}-byte limit: not read")
            return sink.result(FORMAT)
        text, note = decode(data)
        if note:
            sink.problem(str(dpkg_status), note)
        sink.name = str(dpkg_status)  # locations of dpkg entries: status-file:line
        read_dpkg_status(text, sink, namespace, distro)
    return sink.result(FORMAT)


def _python(sink: Sink, path: list[str]) -> None:
    """One component per name and version: the same release in a venv and in the system
    answers the same, and is listed at the first place found (``sys.path`` order)."""
    for dist in distributions(path=path):
        where = _where(dist)
        try:
            raw_name = dist.metadata["Name"]
            raw_version = dist.version
        except Exception:  # unreadable METADATA: report, go on
            sink.problem(where, "distribution metadata cannot be read")
            continue
        if not isinstance(raw_name, str) or not raw_name.strip() or len(raw_name) > MAX_IDENT:
            sink.problem(where, "distribution without a name")
            continue
        name = canonicalize_name(raw_name)
        version = raw_version.strip() if isinstance(raw_version, str) else ""
        purl = PackageURL("pypi", None, name, version or None).to_string()
        given = f"{raw_name}=={version}" if version else raw_name
        if not sink.add(Component(given, version or None, purl, None, "PyPI", name, where)):
            return
        if not version:
            sink.problem(where, f"{raw_name} has no version")


def _where(dist: Distribution) -> str:
    path = getattr(dist, "_path", None)  # PathDistribution's metadata directory
    if path is not None:
        return str(path)
    try:
        return str(dist.locate_file(""))
    except Exception:
        return "?"


def read_os_release(path: Path | None) -> tuple[str, str | None]:
    """(purl namespace, distro qualifier) from os-release: ``("debian", "debian-12")``;
    testing/sid have no VERSION_ID and give the codename. Defaults to Debian, unknown."""
    if path is None:
        return "debian", None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:65536]
    except OSError:
        return "debian", None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("\"'")
    ident = values.get("ID", "debian").lower()
    if not re.fullmatch(r"[a-z0-9._-]{1,64}", ident):
        ident = "debian"
    version = values.get("VERSION_ID", "")
    codename = values.get("VERSION_CODENAME", "")
    if re.fullmatch(r"[0-9][0-9.]{0,15}", version):
        return ident, f"{ident}-{version}"
    if re.fullmatch(r"[a-z]{1,32}", codename):
        return ident, codename
    return ident, None
