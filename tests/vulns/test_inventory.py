"""Member inventories -> Components: each format's happy path, then hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from renkei.vulns.inventory import (
    FORMATS,
    MAX_BYTES,
    OSV_ECOSYSTEM_BY_PURL_TYPE,
    Inventory,
    InventoryProblem,
    detect_inventory_format,
    ecosystem_of,
    parse_inventory,
    read_inventory,
)
from renkei.vulns.inventory_formats import base
from renkei.vulns.model import Component


def by_given(inventory: Inventory) -> dict[str, Component]:
    return {c.given: c for c in inventory.components}


def messages(inventory: Inventory) -> list[str]:
    return [f"{p.location} {p.message}" for p in inventory.problems]


# --- purl / CPE lists ----------------------------------------------------------------------

PURLS = b"""# what runs at the ministry
pkg:pypi/Django@4.2.1

pkg:npm/%40angular/core@16.0.0
pkg:npm/lodash
pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1
pkg:golang/github.com/gin-gonic/gin@v1.9.0
pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12
pkg:apk/alpine/busybox@1.36.1-r2?distro=3.18.4
pkg:cargo/regex@1.9.0
pkg:generic/firmware@7.1
cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*
not-an-identifier
pkg:pypi/
"""


def test_purl_list() -> None:
    inv = parse_inventory(PURLS, "assets.txt")
    assert inv.format == "purl-list"
    got = by_given(inv)
    django = got["pkg:pypi/Django@4.2.1"]
    assert django == Component(
        "pkg:pypi/Django@4.2.1",
        "4.2.1",
        "pkg:pypi/django@4.2.1",
        None,
        "PyPI",
        "django",
        "assets.txt:2",
    )
    angular = got["pkg:npm/%40angular/core@16.0.0"]
    assert (angular.ecosystem, angular.name, angular.location) == (
        "npm",
        "@angular/core",
        "assets.txt:4",
    )
    assert got["pkg:npm/lodash"].version is None  # kept: the matcher flags it
    log4j = got["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"]
    assert (log4j.ecosystem, log4j.name) == ("Maven", "org.apache.logging.log4j:log4j-core")
    assert got["pkg:golang/github.com/gin-gonic/gin@v1.9.0"].name == "github.com/gin-gonic/gin"
    assert (
        got["pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"].ecosystem
        == "Debian:12"
    )
    assert got["pkg:apk/alpine/busybox@1.36.1-r2?distro=3.18.4"].ecosystem == "Alpine:v3.18"
    assert got["pkg:cargo/regex@1.9.0"].ecosystem == "crates.io"
    assert got["pkg:generic/firmware@7.1"].ecosystem is None
    http = got["cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"]
    assert (http.cpe, http.version, http.purl) == (http.given, "2.4.49", None)
    assert [p.location for p in inv.problems] == ["assets.txt:13", "assets.txt:14"]
    assert "neither a purl" in inv.problems[0].message


CPES = b"""cpe:2.3:o:fortinet:fortios:7.2.4:*:*:*:*:*:*:*
cpe:2.3:h:cisco:asa_5505:-:*:*:*:*:*:*:*
cpe:/a:apache:http_server:2.4.49
cpe:/o:juniper:junos:21.4R3
cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~
cpe:/a:HP:openview_network_manager:7.51:-:~~~linux~~
cpe:/a:acme:widget%21pro:1.0%2b2
cpe:/a:microsoft:internet_explorer:8.%02
cpe:2.3:a:acme:product:1.*:*:*:*:*:*:*:*
cpe:2.3:a:too:few:fields
cpe:2.3:x:acme:thing:1:*:*:*:*:*:*:*
"""


def test_cpe_names_for_products_and_appliances() -> None:
    inv = parse_inventory(CPES, "appliances.txt")
    assert inv.format == "cpe-list"
    cpes = {c.given: (c.cpe, c.version) for c in inv.components}
    assert cpes["cpe:2.3:o:fortinet:fortios:7.2.4:*:*:*:*:*:*:*"][1] == "7.2.4"
    assert cpes["cpe:2.3:h:cisco:asa_5505:-:*:*:*:*:*:*:*"][1] is None  # NA: no version
    assert cpes["cpe:/a:apache:http_server:2.4.49"] == (
        "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
        "2.4.49",
    )
    assert cpes["cpe:/o:juniper:junos:21.4R3"] == (
        "cpe:2.3:o:juniper:junos:21.4r3:*:*:*:*:*:*:*",
        "21.4r3",
    )
    # NISTIR 7695's own examples of packed editions
    assert cpes["cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~"][0] == (
        "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:*:*:*:online:win2003:x64:*"
    )
    assert cpes["cpe:/a:HP:openview_network_manager:7.51:-:~~~linux~~"][0] == (
        "cpe:2.3:a:hp:openview_network_manager:7.51:-:*:*:*:linux:*:*"
    )
    # punctuation other than . - _ is escaped in a formatted string; the version unescaped
    assert cpes["cpe:/a:acme:widget%21pro:1.0%2b2"] == (
        "cpe:2.3:a:acme:widget\\!pro:1.0\\+2:*:*:*:*:*:*:*",
        "1.0+2",
    )
    assert cpes["cpe:/a:microsoft:internet_explorer:8.%02"] == (
        "cpe:2.3:a:microsoft:internet_explorer:8.*:*:*:*:*:*:*:*",
        None,
    )
    assert cpes["cpe:2.3:a:acme:product:1.*:*:*:*:*:*:*:*"][1] is None
    found = messages(inv)
    assert any(m.startswith("appliances.txt:8 ") and "pattern" in m for m in found)
    # a short form is padded with ANY, as inventories write cpe:2.3:a:vendor:product:1.0
    assert cpes["cpe:2.3:a:too:few:fields"][0] == "cpe:2.3:a:too:few:fields:*:*:*:*:*:*:*"
    assert any(m.startswith("appliances.txt:11 ") and "part" in m for m in found)
    assert all(c.purl is None and c.ecosystem is None for c in inv.components)


# --- requirements.txt ----------------------------------------------------------------------

REQUIREMENTS = b"""# production pins
-r base.txt
-c constraints.txt
--index-url https://pypi.example/simple
-e git+https://github.com/acme/tool.git#egg=tool
Django[argon2]==4.2.1 ; python_version >= "3.8" \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
requests == 2.31.0  # HTTP
zope.interface===6.0
Pillow>=9
flask
baz==1.*
mylib @ https://files.example/mylib-1.0.tar.gz
local @ file:///home/me/local-0.1.tar.gz
!!! not a requirement
"""


def test_requirements() -> None:
    inv = parse_inventory(REQUIREMENTS, "requirements.txt")
    assert inv.format == "requirements"
    got = {c.name: c for c in inv.components}
    assert set(got) == {
        "django",
        "requests",
        "zope-interface",
        "pillow",
        "flask",
        "baz",
        "mylib",
        "local",
    }
    django = got["django"]
    assert django.given == 'Django[argon2]==4.2.1 ; python_version >= "3.8"'
    assert (django.version, django.purl, django.ecosystem, django.location) == (
        "4.2.1",
        "pkg:pypi/django@4.2.1",
        "PyPI",
        "requirements.txt:6",
    )
    assert got["requests"].location == "requirements.txt:9"
    assert got["zope-interface"].purl == "pkg:pypi/zope-interface@6.0"
    for unpinned in ("pillow", "flask", "baz", "mylib", "local"):
        assert got[unpinned].version is None
        assert got[unpinned].purl == f"pkg:pypi/{unpinned}"
    found = messages(inv)
    assert sum("not pinned" in m for m in found) == 3
    assert sum("URL requirement" in m for m in found) == 2
    assert any(m.startswith("requirements.txt:16 ") and "not a requirement" in m for m in found)
    assert len(found) == 6  # options (-r, -c, -e, --index-url) are skipped quietly


def test_pip_freeze_is_requirements_by_content() -> None:
    freeze = b"certifi==2024.2.2\ncharset-normalizer==3.3.2\nrenkei @ file:///work/main\n"
    assert detect_inventory_format(freeze, "freeze-output.txt") == "requirements"
    inv = parse_inventory(freeze, "freeze-output.txt")
    assert [c.version for c in inv.components] == ["2024.2.2", "3.3.2", None]


def test_requirements_in_utf16_latin1_bom_and_crlf() -> None:
    text = "Django==4.2.1\r\n# café au lait\r\nflask==2.3.2\r\n"
    for data, note in (
        (text.encode("utf-16"), "UTF-16"),  # PowerShell's `pip freeze > requirements.txt`
        (text.encode("utf-16-le"), "UTF-16"),  # no BOM
        (text.encode("latin-1"), "Latin-1"),
        (b"\xef\xbb\xbf" + text.encode(), None),
    ):
        inv = parse_inventory(data, "requirements.txt")
        assert [(c.name, c.version, c.location) for c in inv.components] == [
            ("django", "4.2.1", "requirements.txt:1"),
            ("flask", "2.3.2", "requirements.txt:3"),
        ], data[:20]
        notes = [p.message for p in inv.problems]
        assert (notes == []) if note is None else (len(notes) == 1 and note in notes[0])


# --- lock files ------------------------------------------------------------------------------


def test_poetry_lock() -> None:
    lock = b"""# This file is automatically @generated by Poetry 1.8.2 and should not be changed by hand.

[[package]]
name = "Django"
version = "4.2.1"
description = "A high-level Python web framework"
optional = false
python-versions = ">=3.8"
files = [{file = "Django-4.2.1-py3-none-any.whl", hash = "sha256:aaa"}]

[package.dependencies]
asgiref = ">=3.6.0,<4"

[[package]]
name = "acme-internal"
version = "0.3.0"

[package.source]
type = "git"
url = "https://git.example/acme-internal.git"
reference = "main"
resolved_reference = "0123abc"

[[package]]
name = "no-version"

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "abc"
"""
    inv = parse_inventory(lock, "poetry.lock")
    assert inv.format == "poetry-lock"
    django, internal, unversioned = inv.components
    assert (django.given, django.purl, django.location) == (
        "Django==4.2.1",
        "pkg:pypi/django@4.2.1",
        "poetry.lock:$.package[0]",
    )
    purl = PackageURL.from_string(internal.purl or "")
    assert purl.name == "acme-internal"
    assert purl.version == "0.3.0"
    assert purl.qualifiers == {"vcs_url": "git+https://git.example/acme-internal.git@0123abc"}
    assert unversioned.version is None
    assert messages(inv) == [
        'poetry.lock:$.package[2] "no-version" has no version: version unknown'
    ]


def test_uv_lock_skips_the_project_itself() -> None:
    lock = b"""version = 1
requires-python = ">=3.11"

[[package]]
name = "myapp"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "anyio"
version = "4.4.0"
source = { registry = "https://pypi.org/simple" }
"""
    inv = parse_inventory(lock, "uv.lock")
    assert inv.format == "uv-lock"
    assert [c.purl for c in inv.components] == ["pkg:pypi/anyio@4.4.0"]


CARGO = b"""# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 3

[[package]]
name = "gateway"
version = "0.1.0"
dependencies = ["regex"]

[[package]]
name = "regex"
version = "1.9.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "forked"
version = "0.2.0"
source = "git+https://github.com/acme/forked?branch=main#0123abc"
"""


def test_cargo_lock_is_not_read_as_pypi() -> None:
    assert detect_inventory_format(CARGO, "upload") == "cargo-lock"  # same shape as poetry.lock
    inv = parse_inventory(CARGO, "Cargo.lock")
    regex, forked = inv.components  # the workspace's own crate (no source) is left out
    assert (regex.purl, regex.ecosystem, regex.location) == (
        "pkg:cargo/regex@1.9.0",
        "crates.io",
        "Cargo.lock:$.package[1]",
    )
    assert PackageURL.from_string(forked.purl or "").qualifiers == {
        "vcs_url": "git+https://github.com/acme/forked?branch=main#0123abc"
    }


def test_other_locks_are_named_not_misread() -> None:
    gemfile = b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.8)\n"
    yarn = b'# yarn lockfile v1\n\nlodash@^4.17.21:\n  version "4.17.21"\n'
    assert detect_inventory_format(gemfile, "deps") is None
    assert detect_inventory_format(yarn, "deps") is None
    inv = parse_inventory(yarn, "web/yarn.lock")
    assert inv.components == []
    assert inv.problems[0].message.startswith("yarn.lock is not read (yet)")


def npm_v3() -> dict[str, object]:
    return {
        "name": "portal",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "portal", "version": "1.0.0", "dependencies": {"lodash": "^4"}},
            "node_modules/lodash": {
                "version": "4.17.21",
                "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
            },
            "node_modules/@babel/core": {"version": "7.22.0"},
            "node_modules/express/node_modules/debug": {"version": "2.6.9"},
            "node_modules/body-parser/node_modules/debug": {"version": "2.6.9"},
            "node_modules/send/node_modules/debug": {"version": "3.1.0"},
            "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
            "node_modules/shared": {"resolved": "packages/shared", "link": True},
            "packages/shared": {"name": "shared", "version": "0.0.0"},
            "node_modules/fork": {"version": "git+ssh://git@github.com/acme/fork.git#0123abc"},
            "node_modules/broken": "not an object",
        },
    }


def test_npm_lock_v3() -> None:
    inv = parse_inventory(json.dumps(npm_v3()).encode(), "package-lock.json")
    assert inv.format == "npm-lock"
    got = {c.given: c for c in inv.components}
    assert set(got) == {
        "lodash@4.17.21",
        "@babel/core@7.22.0",
        "debug@2.6.9",
        "debug@3.1.0",
        "string-width@4.2.3",
        "fork",
    }
    babel = got["@babel/core@7.22.0"]
    assert (babel.purl, babel.name, babel.ecosystem) == (
        "pkg:npm/%40babel/core@7.22.0",
        "@babel/core",
        "npm",
    )
    assert babel.location == 'package-lock.json:$.packages["node_modules/@babel/core"]'
    # the same package at two paths is one component, at the first path
    assert got["debug@2.6.9"].location.endswith('["node_modules/express/node_modules/debug"]')
    assert got["fork"].version is None
    found = messages(inv)
    assert len(found) == 2
    assert "not a registry version" in found[0]
    assert "not a JSON object" in found[1]


def test_npm_lock_v1_nested_and_deep() -> None:
    v1 = {
        "name": "old",
        "lockfileVersion": 1,
        "dependencies": {
            "a": {
                "version": "1.0.0",
                "dependencies": {
                    "b": {"version": "2.0.0", "dependencies": {"a": {"version": "0.9.0"}}}
                },
            },
            "aliased": {"version": "npm:real-pkg@3.0.0"},
            "@scope/x": {"version": "1.2.3"},
        },
    }
    inv = parse_inventory(json.dumps(v1).encode(), "npm-shrinkwrap.json")
    assert {c.given for c in inv.components} == {
        "a@1.0.0",
        "b@2.0.0",
        "a@0.9.0",
        "real-pkg@3.0.0",
        "@scope/x@1.2.3",
    }
    inner = next(c for c in inv.components if c.given == "a@0.9.0")
    assert inner.location == "npm-shrinkwrap.json:$.dependencies.a.dependencies.b.dependencies.a"
    # a tree deeper than the walk goes: the top is read, the problem says where it stopped
    levels = base.MAX_DEPTH + 50  # written by hand: json.dumps itself recurses
    tree = (
        "".join(f'{{"p":{{"version":"1.0.{d}","dependencies":' for d in range(levels))
        + "{}"
        + "}}" * levels
    )
    deep = parse_inventory(
        f'{{"lockfileVersion":1,"dependencies":{tree}}}'.encode(), "package-lock.json"
    )
    assert len(deep.components) == base.MAX_DEPTH
    assert [p.message for p in deep.problems] == [
        f"dependencies nested over {base.MAX_DEPTH} deep: inner ones not read"
    ]
    # nesting past what the JSON parser takes: one problem
    hopeless = b'{"lockfileVersion":1,"dependencies":' + b'{"a":{"dependencies":' * 20_000
    assert parse_inventory(hopeless, "package-lock.json").components == []


# --- SBOMs ----------------------------------------------------------------------------------


def cyclonedx() -> dict[str, object]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "component": {
                "type": "device",
                "name": "edge-router",
                "version": "3.1",
                "cpe": "cpe:2.3:h:acme:edge_router:3.1:*:*:*:*:*:*:*",
            }
        },
        "components": [
            {
                "type": "library",
                "group": "org.apache.logging.log4j",
                "name": "log4j-core",
                "version": "2.14.1",
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                "cpe": "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*",
                "components": [
                    {
                        "type": "library",
                        "name": "jackson",
                        "version": "2.9",
                        "purl": "pkg:maven/com.fasterxml/jackson@2.9",
                    }
                ],
            },
            {
                "type": "operating-system",
                "name": "busybox",
                "version": "1.36",
                "cpe": "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*",
            },
            {"type": "firmware", "name": "blob", "version": "7"},
            "nonsense",
        ],
    }


def test_cyclonedx_json() -> None:
    inv = parse_inventory(json.dumps(cyclonedx()).encode(), "router.json")
    assert inv.format == "cyclonedx-json"
    got = by_given(inv)
    log4j = got["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"]
    assert log4j.cpe == "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"  # kept beside the purl
    assert log4j.location == "router.json:$.components[0]"
    assert (
        got["pkg:maven/com.fasterxml/jackson@2.9"].location
        == "router.json:$.components[0].components[0]"
    )
    router = got["cpe:2.3:h:acme:edge_router:3.1:*:*:*:*:*:*:*"]
    assert router.location == "router.json:$.metadata.component"
    busybox = got["cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*"]
    assert busybox.version == "1.36"  # the CPE says ANY: the version beside it is used
    blob = got["blob@7"]
    assert (blob.purl, blob.cpe, blob.ecosystem, blob.version) == (None, None, None, "7")
    assert messages(inv) == [
        'router.json:$.components[2] "blob@7" has no purl or CPE: it cannot be matched',
        "router.json:$.components[3] component is not a JSON object",
    ]


def test_cyclonedx_xml() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" serialNumber="urn:uuid:x" version="1">
  <components>
    <component type="library">
      <name>django</name><version>4.2.1</version><purl>pkg:pypi/django@4.2.1</purl>
      <components>
        <component type="library"><name>asgiref</name><version>3.7.2</version><purl>pkg:pypi/asgiref@3.7.2</purl></component>
      </components>
    </component>
    <component type="application"><name>nginx</name><version>1.25.3</version><cpe>cpe:2.3:a:f5:nginx:1.25.3:*:*:*:*:*:*:*</cpe></component>
  </components>
</bom>"""
    inv = parse_inventory(xml, "bom.xml")
    assert inv.format == "cyclonedx-xml"
    assert [(c.given, c.location) for c in inv.components] == [
        ("pkg:pypi/django@4.2.1", "bom.xml:/bom/components/component[1]"),
        ("pkg:pypi/asgiref@3.7.2", "bom.xml:/bom/components/component[1]/components/component[1]"),
        ("cpe:2.3:a:f5:nginx:1.25.3:*:*:*:*:*:*:*", "bom.xml:/bom/components/component[2]"),
    ]
    assert inv.problems == []
    assert detect_inventory_format(xml, "upload") == "cyclonedx-xml"


def test_xml_entities_and_truncation_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><bom>&b;</bom>'
    inv = parse_inventory(bomb, "x.cdx.xml")
    assert inv.components == []
    assert "refused" in inv.problems[0].message
    cut = parse_inventory(
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components><compo', "bom.xml"
    )
    assert cut.components == []
    assert "not well-formed" in cut.problems[0].message


def test_spdx_json() -> None:
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "host-sbom",
        "packages": [
            {
                "SPDXID": "SPDXRef-openssl",
                "name": "openssl",
                "versionInfo": "3.0.11-1~deb12u2",
                "externalRefs": [
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe23Type",
                        "referenceLocator": "cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*",
                    },
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12",
                    },
                ],
            },
            {
                "SPDXID": "SPDXRef-fw",
                "name": "bios",
                "versionInfo": "F.21",
                "externalRefs": [
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe22Type",
                        "referenceLocator": "cpe:/h:hp:bios:f.21",
                    }
                ],
            },
            {"SPDXID": "SPDXRef-x", "name": "mystery", "versionInfo": "1"},
            {"SPDXID": "SPDXRef-y", "externalRefs": "wrong"},
        ],
    }
    inv = parse_inventory(json.dumps(doc).encode(), "host.spdx.json")
    assert inv.format == "spdx-json"
    openssl, bios, mystery = inv.components
    assert openssl.purl == "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"
    assert (openssl.ecosystem, openssl.cpe) == (
        "Debian:12",
        "cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*",
    )
    assert (bios.cpe, bios.version) == ("cpe:2.3:h:hp:bios:f.21:*:*:*:*:*:*:*", "f.21")
    assert mystery.given == "mystery@1"
    assert [p.location for p in inv.problems] == [
        "host.spdx.json:$.packages[2]",
        "host.spdx.json:$.packages[3]",
    ]


def test_spdx_tag_value() -> None:
    doc = b"""SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
DocumentName: appliance
DocumentComment: <text>A comment that mentions
PackageName: not-a-package
</text>

PackageName: zlib
SPDXID: SPDXRef-zlib
PackageVersion: 1.2.13
PackageDescription: <text>
compression
</text>
ExternalRef: SECURITY cpe23Type cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*
ExternalRef: PACKAGE-MANAGER purl pkg:generic/zlib@1.2.13

PackageName: curl
PackageVersion: 8.4.0
ExternalRef: SECURITY cpe23Type cpe:2.3:a:haxx:curl:8.4.0:*:*:*:*:*:*:*
ExternalRef: broken

FileName: ./etc/passwd
PackageVersion: 9.9
"""
    inv = parse_inventory(doc, "appliance.txt")
    assert inv.format == "spdx-tag"
    zlib, curl = inv.components
    assert (zlib.given, zlib.cpe, zlib.location) == (
        "pkg:generic/zlib@1.2.13",
        "cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*",
        "appliance.txt:8",
    )
    assert (curl.given, curl.version, curl.purl) == (
        "cpe:2.3:a:haxx:curl:8.4.0:*:*:*:*:*:*:*",
        "8.4.0",
        None,
    )
    assert messages(inv) == [
        'appliance.txt:20 ExternalRef needs category, type and locator: "broken"'
    ]


# --- dpkg status ------------------------------------------------------------------------------

DPKG = b"""Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12988
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: gcc
Status: hold ok installed
Architecture: amd64
Source: gcc-defaults (1.203)
Version: 4:12.2.0-3

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u2

Package: oldpkg
Status: deinstall ok config-files
Architecture: all
Version: 1.0-1

Package: broken
Status: install ok installed
Version: not a version!
"""


def test_dpkg_status() -> None:
    inv = parse_inventory(DPKG, "status")
    assert inv.format == "dpkg-status"
    libc, gcc, openssl = inv.components
    assert libc == Component(
        given="libc6:amd64=2.36-9+deb12u4",
        version="2.36-9+deb12u4",
        purl="pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&source=glibc",
        ecosystem="Debian",
        name="glibc",  # Debian's trackers and OSV key on the source package
        location="status:1",
    )
    assert (gcc.name, gcc.version) == ("gcc-defaults", "1.203")  # held packages are installed
    assert PackageURL.from_string(gcc.purl or "").version == "4:12.2.0-3"
    assert (openssl.name, openssl.purl) == (
        "openssl",
        "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64",
    )
    assert messages(inv) == ['status:31 broken: not a Debian version: "not a version!"']


# --- ecosystems -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purl", "ecosystem"),
    [
        ("pkg:pypi/a@1", "PyPI"),
        ("pkg:npm/a@1", "npm"),
        ("pkg:nuget/A@1", "NuGet"),
        ("pkg:composer/a/b@1", "Packagist"),
        ("pkg:gem/a@1", "RubyGems"),
        ("pkg:hex/a@1", "Hex"),
        ("pkg:pub/a@1", "Pub"),
        ("pkg:deb/debian/a@1?distro=bookworm", "Debian:12"),
        ("pkg:deb/debian/a@1?distro=debian-11.8", "Debian:11"),
        ("pkg:deb/debian/a@1", "Debian"),
        ("pkg:deb/ubuntu/a@1?distro=ubuntu-22.04", "Ubuntu:22.04"),
        ("pkg:deb/ubuntu/a@1?distro=jammy", "Ubuntu:22.04"),
        ("pkg:deb/kali/a@1", None),
        ("pkg:apk/wolfi/a@1", "Wolfi"),
        ("pkg:apk/alpine/a@1?distro=alpine-3.19", "Alpine:v3.19"),
        ("pkg:rpm/redhat/a@1", None),
        ("pkg:github/actions/checkout@v4", "GitHub Actions"),
        ("pkg:bitbucket/a/b@1", None),
    ],
)
def test_ecosystem_of(purl: str, ecosystem: str | None) -> None:
    assert ecosystem_of(PackageURL.from_string(purl)) == ecosystem
    assert OSV_ECOSYSTEM_BY_PURL_TYPE["golang"] == "Go"


# --- detection, bounds and hostile input ------------------------------------------------------


def test_detection() -> None:
    cdx = json.dumps(cyclonedx()).encode()
    assert detect_inventory_format(cdx, "anything.json") == "cyclonedx-json"
    assert detect_inventory_format(cdx[:300], "bom.json") == "cyclonedx-json"  # truncated
    assert detect_inventory_format(b"", "bom.json") == "cyclonedx-json"
    assert detect_inventory_format(b"", "upload") is None
    late = json.dumps({"name": "x" * 70_000, "lockfileVersion": 2, "packages": {}}).encode()
    assert detect_inventory_format(late, "upload.json") == "npm-lock"  # marker past the sniff
    assert detect_inventory_format(b'{"hello": 1}', "x.json") is None
    assert detect_inventory_format(DPKG, "upload") == "dpkg-status"
    assert detect_inventory_format(b"", "/var/lib/dpkg/status") == "dpkg-status"
    assert detect_inventory_format(b"hello world\n", "notes.txt") is None
    assert detect_inventory_format(bytes(range(256)) * 10, "blob") is None
    inv = parse_inventory(b"hello world\n", "notes.txt")
    assert inv.format == "unknown"
    assert "not a recognised inventory format" in inv.problems[0].message
    forced = parse_inventory(b"pkg:pypi/a@1\n", "upload", format="purl-list")
    assert forced.format == "purl-list"
    assert len(forced.components) == 1
    assert (
        parse_inventory(b"x", "y", format="nope").problems[0].message.startswith("unknown format")
    )


def test_truncated_and_wrong_json() -> None:
    data = json.dumps(npm_v3()).encode()
    inv = parse_inventory(data[: len(data) // 2], "package-lock.json")
    assert inv.format == "npm-lock"
    assert inv.components == []
    assert inv.problems[0].location.startswith("package-lock.json:1:")
    assert "not valid JSON" in inv.problems[0].message
    for wrong in (b"[1, 2]", b'"text"', b"null", b'{"packages": [1]}', b'{"dependencies": 5}'):
        got = parse_inventory(wrong, "package-lock.json")
        assert got.components == [], wrong
        assert got.problems, wrong


def test_bom_and_crlf_json() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(cyclonedx(), indent=2).replace("\n", "\r\n").encode()
    inv = parse_inventory(data, "x.cdx.json")
    assert len(inv.components) == 5
    utf16 = json.dumps(cyclonedx()).encode("utf-16")
    assert len(parse_inventory(utf16, "upload.json").components) == 5


def test_huge_lines_and_files(tmp_path: Path) -> None:
    line = b"pkg:pypi/a@1\n" + b"x" * 10_000_000 + b"\npkg:pypi/b@2\n"
    inv = parse_inventory(line, "list.txt")
    assert [c.name for c in inv.components] == ["a", "b"]
    assert messages(inv) == ["list.txt:2 line too long (10000000 characters): skipped"]
    spaces = b"django==1.0" + b" " * 60_000 + b"#\n" + b"a" + b" " * 60_000 + b"x\n"
    assert parse_inventory(spaces, "requirements.txt").components[0].version == "1.0"
    continued = b"\\\n" * 100_000 + b"flask==2.0\n"
    assert parse_inventory(continued, "requirements.txt").problems  # no quadratic join
    big = tmp_path / "requirements.txt"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    refused = read_inventory(big)
    assert refused.components == []
    assert "limit" in refused.problems[0].message
    assert "limit" in parse_inventory(b"\n" * (MAX_BYTES + 1), "r.txt").problems[0].message
    assert read_inventory(tmp_path / "missing.txt").problems[0].message.startswith("cannot read")
    assert read_inventory(tmp_path).problems  # a directory


def test_binary_garbage() -> None:
    garbage = bytes(range(256)) * 400
    for name in ("requirements.txt", "package-lock.json", "poetry.lock", "status", "x.spdx"):
        inv = parse_inventory(garbage, name)
        assert inv.components == []
        assert len(inv.problems) <= 2, name
    png = b"\x89PNG\r\n\x1a\n" + bytes(1000)
    assert (
        parse_inventory(png, "requirements.txt").problems[-1].message.startswith("binary content")
    )


def test_component_and_problem_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_COMPONENTS", 10)
    data = "\n".join(f"pkg:pypi/p{i}@1" for i in range(50)).encode()
    inv = parse_inventory(data, "many.txt")
    assert len(inv.components) == 10
    assert messages(inv) == ["many.txt more than 10 components: the rest were not read"]
    monkeypatch.setattr(base, "MAX_PROBLEMS", 5)
    bad = parse_inventory(b"nope\n" * 50, "many.txt", format="purl-list")
    assert len(bad.problems) == 6
    assert bad.problems[-1].message == "45 further problems not listed"


def test_duplicates() -> None:
    data = b"pkg:pypi/a@1\npkg:pypi/a@1\npkg:pypi/a@2\npkg:pypi/A@1\n"
    inv = parse_inventory(data, "dups.txt")
    # one per (given, version, purl, CPE), at its first line; another spelling stays
    assert [(c.given, c.location) for c in inv.components] == [
        ("pkg:pypi/a@1", "dups.txt:1"),
        ("pkg:pypi/a@2", "dups.txt:3"),
        ("pkg:pypi/A@1", "dups.txt:4"),
    ]


def test_read_inventory_file(tmp_path: Path) -> None:
    path = tmp_path / "requirements-prod.txt"
    path.write_bytes(b"django==4.2.1\n")
    inv = read_inventory(path)
    assert inv.format == "requirements"
    assert inv.components[0].location == f"{path}:1"


# --- fuzzing: no input makes the readers raise ------------------------------------------------

NAMES = [
    "upload",
    "requirements.txt",
    "poetry.lock",
    "package-lock.json",
    "bom.json",
    "bom.xml",
    "x.spdx.json",
    "x.spdx",
    "dpkg/status",
    "list.txt",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "version",
                    "purl",
                    "cpe",
                    "components",
                    "packages",
                    "dependencies",
                    "externalRefs",
                    "referenceType",
                    "referenceLocator",
                    "link",
                    "node_modules/x",
                    "",
                    "source",
                    "package",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
text_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "pkg:pypi/a@1",
                "cpe:2.3:a:b:c:1:*:*:*:*:*:*:*",
                "cpe:/a:b:c:%02",
                "django==1",
                "-r x",
                "\\",
                "#",
                "Package: a",
                "Status: install ok installed",
                "Version: 1",
                "Source: x (",
                " cont",
                "PackageName: p",
                "ExternalRef: a purl pkg:npm/x",
                "<text>",
                "[[package]]",
                'name = "x"',
                "\ufeff",
            ]
        ),
        st.text(max_size=30),
    ),
    max_size=12,
)


def check(inv: Inventory) -> None:
    assert isinstance(inv, Inventory)
    assert all(isinstance(c, Component) for c in inv.components)
    assert all(isinstance(p, InventoryProblem) for p in inv.problems)
    # parse_inventory's last-resort catch must not be what kept it from raising
    assert not any("could not be read further" in p.message for p in inv.problems), inv.problems


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(NAMES))
def test_fuzz_bytes(data: bytes, name: str) -> None:
    check(parse_inventory(data, name))


@FUZZ
@given(lines=text_lines, fmt=st.sampled_from(FORMATS), crlf=st.booleans())
def test_fuzz_lines(lines: list[str], fmt: str, crlf: bool) -> None:
    data = ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")
    check(parse_inventory(data, "fuzz", format=fmt))
    check(parse_inventory(data, "fuzz"))


@FUZZ
@given(doc=json_values, fmt=st.sampled_from(["npm-lock", "cyclonedx-json", "spdx-json"]))
def test_fuzz_json(doc: object, fmt: str) -> None:
    wrapped = {
        "bomFormat": "CycloneDX",
        "spdxVersion": "SPDX-2.3",
        "lockfileVersion": 3,
        "components": doc,
        "packages": doc,
        "dependencies": doc,
    }
    for value in (
        doc,
        wrapped,
        {"packages": {"node_modules/x": doc}},
        {"dependencies": {"x": doc}},
    ):
        check(parse_inventory(json.dumps(value).encode(), "fuzz.json", format=fmt))
