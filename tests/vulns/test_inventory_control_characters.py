"""Control characters in an inventory's entries: the entry is reported and skipped, the
rest is read, matched and stored, on SQLite and PostgreSQL alike.

A NUL reached PostgreSQL from a purl's ``%00``, a ``===`` pin, a JSON ``\\u0000`` or a dpkg
Architecture field, and `renkei vulns match` and `assets add` failed with a server error
("PostgreSQL text fields cannot contain NUL (0x00) bytes")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from renkei.cli import app
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.inventory_formats.base import Sink
from renkei.vulns.inventory_formats.sbom import read_cyclonedx_json, read_spdx_json, read_spdx_tag
from renkei.vulns.inventory_formats.text import (
    read_dpkg_status,
    read_identifier_list,
    read_requirements,
)
from renkei.vulns.model import Component
from tests.hub_fixtures import ApiHub as Hub
from tests.hub_fixtures import api_client, seed_hub

from .test_api import django
from .test_cli import NVD, OSV

runner = CliRunner()
UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
DJANGO_PURL = "pkg:pypi/django@4.2.1"
DJANGO_CPE = "cpe:2.3:a:djangoproject:django:4.2.5:*:*:*:*:*:*:*"
DPKG_GOOD = ("Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
             "Version: 2.36-9\n")


def cyclonedx(*components: dict[str, str]) -> bytes:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5",
                       "components": list(components)}).encode()


def spdx(*packages: dict[str, object]) -> bytes:
    return json.dumps({"spdxVersion": "SPDX-2.3", "packages": list(packages)}).encode()


def purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
            "referenceLocator": purl}


# file name, content, the good entries' given, the locations reported as malformed
INVENTORIES: dict[str, tuple[str, bytes, set[str], list[str]]] = {
    "purl-list": ("inventory.txt",
                  b"pkg:pypi/evil%00pkg@1.0\n" + DJANGO_PURL.encode()
                  + b"\npkg:pypi/flask@2.0%01\npkg:npm/left-pad@1.3.0\n",
                  {DJANGO_PURL, "pkg:npm/left-pad@1.3.0"},
                  ["inventory.txt:1", "inventory.txt:3"]),
    "cpe-list": ("cpes.txt",
                 b"cpe:2.3:a:evil:prod\x00uct:1.0:*:*:*:*:*:*:*\n" + DJANGO_CPE.encode()
                 + b"\ncpe:/a:evil:tool%00:1.0\n",
                 {DJANGO_CPE}, ["cpes.txt:1", "cpes.txt:3"]),
    "requirements": ("requirements.txt",
                     b"evil===1.0\x00\ndjango==4.2.1\n"
                     b'flask==2.0 ; python_version == "3\x1b[2J"\nrequests==2.32.0\n',
                     {"django==4.2.1", "requests==2.32.0"},
                     ["requirements.txt:1", "requirements.txt:3"]),
    "cyclonedx-json": ("bom.json", cyclonedx(
        {"name": "evil", "version": "1", "purl": "pkg:pypi/evil\u0000@1"},
        {"name": "django", "version": "4.2.1", "purl": DJANGO_PURL},
        {"name": "bad\ud800", "version": "1"},
        {"name": "tool", "version": "1\u009b2", "cpe": "cpe:2.3:a:acme:tool:*:*:*:*:*:*:*:*"}),
                       {DJANGO_PURL},
                       ["bom.json:$.components[0]", "bom.json:$.components[2]",
                        "bom.json:$.components[3]"]),
    "spdx-json": ("sbom.spdx.json", spdx(
        {"name": "evil\u0000", "versionInfo": "1"},
        {"name": "django", "versionInfo": "4.2.1", "externalRefs": [purl_ref(DJANGO_PURL)]},
        {"name": "x", "versionInfo": "2", "externalRefs": [purl_ref("pkg:pypi/x@2%00")]}),
                  {DJANGO_PURL},
                  ["sbom.spdx.json:$.packages[0]", "sbom.spdx.json:$.packages[2]"]),
    "dpkg-status": ("status",
                    b"Package: evil\nStatus: install ok installed\nArchitecture: amd64\x00\n"
                    b"Version: 1.0\n\n" + DPKG_GOOD.encode(),
                    {"libc6:amd64=2.36-9"}, ["status:1"]),
}


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "PYSEC-2026-11.json").write_text(json.dumps(OSV))
    (folder / "nvdcve-2.0-0000.json").write_text(json.dumps(NVD))
    return folder


def renkei(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr without white space (rich folds long lines)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, "".join(result.stderr.split())


@pytest.mark.parametrize("fmt", list(INVENTORIES))
def test_a_control_character_skips_its_entry_through_the_cli(
        fmt: str, renkei_home: Path, feeds: Path, tmp_path: Path) -> None:
    name, content, good, malformed = INVENTORIES[fmt]
    path = tmp_path / name
    path.write_bytes(content)
    assert renkei("vulns", "import", str(feeds), "--json")[0] == 0

    code, out, err = renkei("vulns", "match", "--inventory", str(path), "--json")
    assert code == 0, err
    for where in malformed:
        assert f"{path}:{where.split(':', 1)[1]}:" in err, (where, err)
    assert err.count("holdsacontrolcharacter") == len(malformed), err
    found = {json.loads(line)["component"] for line in out.splitlines()}
    assert found == good & {DJANGO_PURL, DJANGO_CPE, "django==4.2.1"}

    assert renkei("orgs", "add", "Example Bank", "--community", "finance")[0] == 0
    code, out, err = renkei("vulns", "assets", "add", "--org", "Example Bank", "--name", fmt,
                            str(path))
    assert code == 0, err
    asset_id, _name, read_as, components, _alerts = out.strip().split("\t")
    assert (read_as, int(components)) == (fmt, len(good))
    code, out, _ = renkei("vulns", "assets", "list")
    assert f"{asset_id}\tExample Bank\t{fmt}\t{fmt}\t{len(good)}\t" in out


def test_a_control_character_skips_its_entry_through_the_api(tmp_path: Path,
                                                             empty_database_url: str) -> None:
    tokens = seed_hub(empty_database_url, ("acme",), {"acme": "read,submit"},
                      then=lambda s, clock, _made: import_records(s, clock, [django()]))
    with api_client(tmp_path, empty_database_url) as client:
        hub = Hub(client, tokens, empty_database_url)
        for fmt in ("purl-list", "cyclonedx-json", "spdx-json"):
            name, content, good, _malformed = INVENTORIES[fmt]
            matched = client.post(f"/api/v1/vulns/match?name={name}", content=content,
                                  headers=hub.as_("acme"))
            assert matched.status_code == 200, matched.text
            assert [f["component"] for f in matched.json()] == [DJANGO_PURL]
            put = client.put(f"/api/v1/vulns/assets/{fmt}?filename={name}", content=content,
                             headers=hub.as_("acme"))
            assert put.status_code == 200, put.text
            assert (put.json()["components"], put.json()["new_alerts"]) == (len(good), 1)


def test_markup_in_an_entry_is_printed_not_obeyed(renkei_home: Path, feeds: Path,
                                                  tmp_path: Path) -> None:
    """rich read "[/x]" in a problem's text as a closing tag, and the command failed."""
    assert renkei("vulns", "import", str(feeds), "--json")[0] == 0
    path = tmp_path / "requirements.txt"
    path.write_text('[/x] == 1\n[bold]\ndjango==4.2.1 ; python_version >= "[/y]"\n')
    code, out, err = renkei("vulns", "match", "--inventory", str(path))
    assert code == 0, err
    assert '"[/x]==1"' in err
    assert '"[bold]"' in err
    assert "1matches" in "".join(out.split()), out


def test_a_stray_nul_is_not_binary_content_but_many_are() -> None:
    one = parse_inventory(b"pkg:pypi/a@1\npkg:pypi/b\x00@1\npkg:pypi/c@1\n", "list.txt")
    assert [c.given for c in one.components] == ["pkg:pypi/a@1", "pkg:pypi/c@1"]
    assert [p.location for p in one.problems] == ["list.txt:2"]
    binary = parse_inventory(b"pkg:pypi/a@1\n" + b"\x00" * 50, "list.txt", format="purl-list")
    assert binary.components == []
    assert binary.problems[-1].message.startswith("binary content")


def test_control_characters_in_the_file_name_do_not_spoil_locations() -> None:
    read = parse_inventory(b"pkg:pypi/a@1\n", "a\x00b\x1b.txt", format="purl-list")
    assert [c.location for c in read.components] == ["a\ufffdb\ufffd.txt:1"]


# --- every reader, arbitrary lines: no exception, no unstorable text, good lines kept ------

LINE_ALPHABET = st.one_of(
    st.characters(exclude_characters="\n\r"),
    st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "%00", "\t", ":", "@",
                     "==", "===", "pkg:pypi/", "cpe:2.3:a:", "cpe:/a:", "Package: ",
                     "PackageName: ", "PackageVersion: ", "Status: install ok installed",
                     "ExternalRef: PACKAGE-MANAGER purl pkg:pypi/", "Architecture: ", " "]))
hostile_lines = st.lists(st.lists(LINE_ALPHABET, max_size=12).map("".join), max_size=10)


def clean(component: Component) -> bool:
    return not any(UNSTORABLE.search(value) for value in (
        component.given, component.version or "", component.purl or "", component.cpe or "",
        component.ecosystem or "", component.name, component.location))


def read_lines(reader: Callable[[str, Sink], None], text: str) -> Sink:
    sink = Sink("fuzz")
    reader(text, sink)
    assert all(clean(c) for c in sink.components), sink.components
    assert not any(UNSTORABLE.search(p.location + p.message) for p in sink.problems)
    return sink


def givens(sink: Sink) -> set[str]:
    return {c.given for c in sink.components}


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(before=hostile_lines, after=hostile_lines)
def test_identifier_lists_keep_their_good_lines(before: list[str], after: list[str]) -> None:
    text = "\n".join([*before, DJANGO_PURL, DJANGO_CPE, *after])
    assert {DJANGO_PURL, DJANGO_CPE} <= givens(read_lines(read_identifier_list, text))


@FUZZ
@given(before=hostile_lines, after=hostile_lines)
def test_requirements_keep_their_good_lines(before: list[str], after: list[str]) -> None:
    # a line ending in a backslash continues onto the next, as pip reads it
    before = [line for line in before if "\\" not in line]
    text = "\n".join([*before, "django==4.2.1", *after])
    assert "django==4.2.1" in givens(read_lines(read_requirements, text))


@FUZZ
@given(before=hostile_lines, after=hostile_lines)
def test_dpkg_status_keeps_its_good_paragraphs(before: list[str], after: list[str]) -> None:
    text = "\n".join([*before, "", DPKG_GOOD, *after])
    assert "libc6:amd64=2.36-9" in givens(read_lines(read_dpkg_status, text))


@FUZZ
@given(before=hostile_lines, after=hostile_lines)
def test_spdx_tag_value_keeps_its_good_packages(before: list[str], after: list[str]) -> None:
    before = [line for line in before if "<text>" not in line]  # a text runs to </text>
    text = "\n".join([*before, "PackageName: django", "PackageVersion: 4.2.1",
                      f"ExternalRef: PACKAGE-MANAGER purl {DJANGO_PURL}", "FileName: ./x",
                      *after])
    assert DJANGO_PURL in givens(read_lines(read_spdx_tag, text))


any_text = st.text(st.characters(exclude_categories=()), max_size=20) | st.sampled_from(
    ["pkg:pypi/a%00@1", "pkg:pypi/a@1\u0000", "cpe:2.3:a:b:c\u0001:1:*:*:*:*:*:*:*", "\ud800"])
entries = st.fixed_dictionaries({}, optional={
    "name": any_text, "version": any_text, "purl": any_text, "cpe": any_text})


@FUZZ
@given(hostile=st.lists(entries, max_size=6))
def test_sboms_keep_their_good_entries(hostile: list[dict[str, str]]) -> None:
    django = {"name": "django", "version": "4.2.1", "purl": DJANGO_PURL}
    sink = Sink("fuzz")
    read_cyclonedx_json({"components": [*hostile, django]}, sink)
    assert DJANGO_PURL in givens(sink)
    assert all(clean(c) for c in sink.components), sink.components
    packages = [{"name": e.get("name"), "versionInfo": e.get("version"),
                 "externalRefs": [purl_ref(e.get("purl", ""))]} for e in hostile]
    sink = Sink("fuzz")
    read_spdx_json({"packages": [*packages, {"name": "django", "versionInfo": "4.2.1",
                                             "externalRefs": [purl_ref(DJANGO_PURL)]}]}, sink)
    assert DJANGO_PURL in givens(sink)
    assert all(clean(c) for c in sink.components), sink.components


@FUZZ
@given(lines=hostile_lines, fmt=st.sampled_from(["purl-list", "cpe-list", "requirements",
                                                  "dpkg-status", "spdx-tag"]))
def test_parse_inventory_never_yields_unstorable_text(lines: list[str], fmt: str) -> None:
    read = parse_inventory("\n".join(lines).encode("utf-8", "surrogatepass"), "fuzz",
                           format=fmt)
    assert all(clean(c) for c in read.components), read.components
    assert not any(UNSTORABLE.search(p.location + p.message) for p in read.problems)
