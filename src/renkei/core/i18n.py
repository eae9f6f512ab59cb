"""English and Japanese messages from gettext catalogues (.po) kept beside each domain.

Catalogues are read with Babel at run time, so the package ships only the .po text and
no build step is needed. English is the source language: an untranslated message falls
back to its English msgid.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LANGUAGES = ("en", "ja")
DOMAINS = ("console", "core", "demo", "incidents", "logs", "plan", "sensors", "sharing", "vulns")

Translate = Callable[[str], str]


def catalogue_files(lang: str) -> list[Path]:
    found: list[Path] = []
    for domain in DOMAINS:
        folder = Path(str(files(f"renkei.{domain}"))) / "locale" / lang
        if folder.is_dir():
            found.extend(sorted(folder.glob("*.po")))
    return found


def read_catalogue(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


@cache
def messages(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGUAGES)}")
    table: dict[str, str] = {}
    for path in catalogue_files(lang):
        for message in read_catalogue(path, lang):
            if message.id and isinstance(message.id, str) and message.string:
                table[message.id] = str(message.string)
    return table


def gettext_noop(text: str) -> str:
    """Marks a message for the catalogue where it is defined; translated where it is shown."""
    return text


def translator(lang: str) -> Translate:
    """``_ = translator("ja"); _("Findings")`` gives the Japanese text, or the English."""
    table = messages(lang)

    def translate(text: str) -> str:
        return table.get(text, text)

    return translate
