"""Japanese catalogues: every .po parses, is complete, and keeps its placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import renkei
from renkei.core import i18n

PACKAGE = Path(renkei.__file__).parent
CATALOGUES = sorted(PACKAGE.glob("*/locale/ja/*.po"))
PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0+]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def catalogue_id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def brace_fields(text: str) -> list[str]:
    """``{name}``, ``{count:,}`` … as written; raises ValueError on unbalanced braces."""
    return sorted(
        "{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        for _, field, spec, conv in string.Formatter().parse(text)
        if field is not None
    )


def percent_fields(text: str) -> list[str]:
    return sorted(PERCENT.findall(text))


def entries(path: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of each message but the header; plural forms joined."""
    with path.open("rb") as fh:
        catalogue = read_po(fh, locale="ja", abort_invalid=True)
    found: list[tuple[str, str, bool]] = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            found.extend((str(msgid), str(msgstr or ""), message.fuzzy) for msgstr in strs)
    return found


def test_core_catalogue_is_found() -> None:
    assert PACKAGE / "core" / "locale" / "ja" / "core.po" in CATALOGUES


def test_every_domain_with_a_catalogue_is_loaded() -> None:
    domains = {path.relative_to(PACKAGE).parts[0] for path in CATALOGUES}
    assert domains <= set(i18n.DOMAINS), "add the domain to renkei.core.i18n.DOMAINS"


@pytest.mark.parametrize("path", CATALOGUES, ids=catalogue_id)
def test_catalogue_parses_and_is_complete(path: Path) -> None:
    messages = entries(path)
    assert messages, f"{catalogue_id(path)} has no messages"
    empty = [msgid for msgid, msgstr, _ in messages if not msgstr.strip()]
    assert not empty, f"untranslated in {catalogue_id(path)}: {empty}"
    fuzzy = [msgid for msgid, _, is_fuzzy in messages if is_fuzzy]
    assert not fuzzy, f"fuzzy (unchecked) in {catalogue_id(path)}: {fuzzy}"


@pytest.mark.parametrize("path", CATALOGUES, ids=catalogue_id)
def test_placeholders_survive_translation(path: Path) -> None:
    wrong = []
    for msgid, msgstr, _ in entries(path):
        try:
            same = brace_fields(msgid) == brace_fields(msgstr)
        except ValueError as exc:
            wrong.append(f"{msgid!r}: unbalanced braces ({exc})")
            continue
        if not same or percent_fields(msgid) != percent_fields(msgstr):
            wrong.append(f"{msgid!r} -> {msgstr!r}")
    assert not wrong, f"placeholders differ in {catalogue_id(path)}:\n" + "\n".join(wrong)


def test_a_message_means_the_same_in_every_catalogue() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in CATALOGUES:
        for msgid, msgstr, _ in entries(path):
            first = seen.setdefault(msgid, (msgstr, catalogue_id(path)))
            if first[0] != msgstr:
                clashes.append(f"{msgid!r}: {first[1]} and {catalogue_id(path)} disagree")
    assert not clashes, "\n".join(clashes)


def test_japanese_translation_and_english_fallback() -> None:
    ja = i18n.translator("ja")
    assert ja("Organisation") == "組織"
    assert ja("Added organisation {name}.").format(name="IPA") == "組織 IPA を追加しました。"
    assert ja("a message nobody translated") == "a message nobody translated"
    assert i18n.translator("en")("Organisation") == "Organisation"


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        i18n.translator("fr")


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("{a} and {b:>5} and {c!r}", ["{a}", "{b:>5}", "{c!r}"]),
        ("{{literal}} {x}", ["{x}"]),
        ("no fields", []),
    ],
)
def test_brace_fields_helper(text: str, fields: list[str]) -> None:
    assert brace_fields(text) == sorted(fields)


def test_percent_fields_helper() -> None:
    assert percent_fields("%(name)s got %d of %5.1f%%") == sorted(
        ["%(name)s", "%d", "%5.1f", "%%"]
    )
