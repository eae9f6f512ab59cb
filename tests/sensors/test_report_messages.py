"""Every message the darknet report, its charts and the geo lookup can show has Japanese,
and none of them changes what another domain's catalogue says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

import renkei
from renkei.core import i18n
from tests.message_templates import templates

SENSORS = Path(renkei.__file__).parent / "sensors"
SOURCES = [SENSORS / "report.py", SENSORS / "plots.py", SENSORS / "geo.py"]
TEMPLATE = SENSORS / "templates" / "report.html.j2"
CATALOGUE = SENSORS / "locale" / "ja" / "report.po"
TEMPLATE_ARG = {"_": 0, "gettext_noop": 0, "GeoDataError": 0}


def used_messages() -> set[str]:
    found = {message for path in SOURCES for message in templates(path, TEMPLATE_ARG)}
    with TEMPLATE.open("rb") as fh:
        found.update(message for _line, _function, message, _comments
                     in babel_extract(fh, ("_",), (), {}) if isinstance(message, str))
    return found


def catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        return {m.id: str(m.string) for m in read_po(fh, locale="ja")
                if m.id and isinstance(m.id, str) and m.string}


def test_every_message_has_japanese_in_this_catalogue() -> None:
    translated = catalogue(CATALOGUE)
    used = used_messages()
    assert len(used) > 80
    missing = sorted(m for m in used if m not in translated)
    assert not missing, f"add to {CATALOGUE.name}: {missing}"
    unused = sorted(set(translated) - used)
    assert not unused, f"stale entries in {CATALOGUE.name}: {unused}"
    for message in used:
        fields = set(re.findall(r"\{(\w*)\}", message))
        assert fields == set(re.findall(r"\{(\w*)\}", translated[message])), message


@pytest.mark.parametrize("other", [p for p in i18n.catalogue_files("ja") if p != CATALOGUE],
                         ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_shared_messages_agree_with_other_catalogues(other: Path) -> None:
    """The catalogues are merged into one table: a message both define must read the same,
    or one domain's report would silently change the other's."""
    ours, theirs = catalogue(CATALOGUE), catalogue(other)
    differ = {m: (ours[m], theirs[m]) for m in set(ours) & set(theirs) if ours[m] != theirs[m]}
    assert not differ


def test_the_catalogue_is_loaded() -> None:
    _ = i18n.translator("ja")
    assert _("Darknet observation report") == "ダークネット観測レポート"
    assert _("no such geo data file: {path}").format(path="x") == "地理情報データファイルがありません: x"
