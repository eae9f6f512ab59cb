"""What every inventory reader shares: the result records, the limits, and the sink that
enforces them, so no reader can be made to raise, loop or grow without bound."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field, fields, replace

from renkei.vulns.model import Component

MAX_BYTES = 64 * 1024 * 1024  # a member's inventory file; larger is refused unread
MAX_COMPONENTS = 200_000
MAX_PROBLEMS = 1_000  # then one summary problem: a garbage file must not flood the report
MAX_LINE = 64 * 1024  # characters; requirement lines with many hashes stay well below
MAX_IDENT = 4_096  # a purl, CPE, name or version longer than this is not a real one
MAX_DEPTH = 200  # CycloneDX components / npm v1 dependencies: 2 JSON levels each, and
# json.loads gives up near 1,000 levels (the recursion limit)


# C0 and C1 controls, DEL, and lone surrogates (JSON's "\ud800" escape makes one): no
# package name, version, purl or CPE holds them, PostgreSQL refuses a text with NUL, no
# database driver encodes a surrogate, and a terminal obeys ESC and CSI; a component
# naming one is malformed, and in a location or a problem they become U+FFFD
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_FIELDS = tuple(f.name for f in fields(Component) if f.name != "location")


def unstorable(text: str) -> str | None:
    """The first character of ``text`` no component may hold, as U+XXXX; None if none."""
    found = _UNSTORABLE.search(text)
    return None if found is None else f"U+{ord(found[0]):04X}"


def safe(text: str) -> str:
    """``text`` with those characters as U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


@dataclass(frozen=True)
class InventoryProblem:
    """An entry that could not be read (or read only in part): where, and why."""

    location: str
    message: str


@dataclass
class Inventory:
    """Components read from one inventory, the problems met, and the format it was read as."""

    components: list[Component]
    problems: list[InventoryProblem]
    format: str


@dataclass
class Sink:
    """Collects a reader's output. Duplicates (same given, version, purl and CPE) are kept
    once, at their first location: a lock file names one package at many paths, and one
    hit per package is what a member needs. Conflicting versions are kept apart."""

    name: str
    components: list[Component] = field(default_factory=list)
    problems: list[InventoryProblem] = field(default_factory=list)
    dropped_problems: int = 0
    full: bool = False
    _seen: set[tuple[str, str | None, str | None, str | None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # the file's name starts every location a component keeps: a control character in
        # it (an uploaded file's name) must not make every component unstorable
        self.name = safe(self.name)

    def add(self, component: Component) -> bool:
        """Keep a component; false once the component limit is reached (readers stop).
        A component holding a control character is reported and skipped (see
        ``_UNSTORABLE``): whichever reader made it, the rest are still read."""
        if self.full:
            return False
        if self.malformed(component):
            return True
        if _UNSTORABLE.search(component.location):  # from a JSON key, say
            component = replace(component, location=safe(component.location))
        key = (component.given, component.version, component.purl, component.cpe)
        if key in self._seen:
            return True
        if len(self.components) >= MAX_COMPONENTS:
            self.full = True
            self.problem(
                self.name, f"more than {MAX_COMPONENTS} components: the rest were not read"
            )
            return False
        self._seen.add(key)
        self.components.append(component)
        return True

    def malformed(self, component: Component) -> bool:
        """Whether a text of ``component`` holds a control character (then a problem)."""
        for name in _TEXT_FIELDS:
            value = getattr(component, name)
            if value and (found := unstorable(value)):
                self.problem(component.location or self.name,
                             f"{name} holds a control character ({found}): "
                             f"{short(component.given)}: skipped")
                return True
        return False

    def problem(self, location: str, message: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.dropped_problems += 1
            return
        self.problems.append(InventoryProblem(safe(location), safe(message)))

    def at(self, where: int | str) -> str:
        """A location: ``name:line`` for a line number, ``name:$.path`` for a JSON path."""
        return f"{self.name}:{where}"

    def result(self, format_name: str) -> Inventory:
        problems = list(self.problems)
        if self.dropped_problems:
            problems.append(
                InventoryProblem(self.name, f"{self.dropped_problems} further problems not listed")
            )
        return Inventory(list(self.components), problems, format_name)


def short(value: object, limit: int = 80) -> str:
    """A value quoted for a message, cut so a hostile entry cannot bloat the report."""
    if isinstance(value, str):
        text = json.dumps(value[: limit * 2], ensure_ascii=False)
    else:
        text = repr(value)[: limit * 2]
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> tuple[str, str | None]:
    """Text of an inventory and, when it was not plain UTF-8, a note saying how it was read.

    Windows tools write UTF-16 with a BOM (PowerShell's ``pip freeze > r.txt``) and old
    editors Latin-1; both are read rather than refused. Never raises."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            note = None if encoding == "utf-8" else f"read as {encoding.upper()} (byte-order mark)"
            if "\ufffd" in text:
                note = f"not valid {encoding.upper()}: unreadable bytes replaced"
            return text, note
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    utf16 = _bomless_utf16(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace"), f"read as {utf16.upper()} (no byte-order mark)"
    return data.decode("latin-1"), "not UTF-8: read as Latin-1"


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as ASCII text with every other byte NUL."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    evens, odds = sample[0::2], sample[1::2]
    if odds.count(0) > 0.9 * len(odds) and evens.count(0) < 0.1 * len(evens):
        return "utf-16-le"
    if evens.count(0) > 0.9 * len(evens) and odds.count(0) < 0.1 * len(odds):
        return "utf-16-be"
    return None


def lines(text: str) -> list[str]:
    """Physical lines, numbered as an editor numbers them: only LF, CRLF and lone CR end a
    line (``str.splitlines`` also splits on form feeds and U+2028, shifting numbers)."""
    if "\n" not in text and "\r" in text:
        return text.split("\r")
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def jkey(key: str) -> str:
    """A JSON-path member: ``.name`` when plain, ``["node_modules/x"]`` otherwise."""
    if key.isidentifier():
        return f".{key}"
    return "[" + short(key, 200) + "]"
