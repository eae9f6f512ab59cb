"""CPE 2.3 binding and ANY/NA name matching (NISTIR 7695/7696)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.vulns import cpe


def test_parse_formatted_string() -> None:
    name = cpe.parse("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:-")
    assert name[:4] == ("a", "apache", "http_server", "2.4.49")
    assert name[4] is cpe.ANY
    assert name[10] is cpe.NA


def test_escaped_characters() -> None:
    name = cpe.parse(r"cpe:2.3:a:foo\:bar:prod\.x:1\.0\-beta:*:*:*:*:*:*:*")
    assert name[1] == "foo:bar"
    assert name[2] == "prod.x"
    assert name[3] == "1.0-beta"
    # round trip: the colon stays escaped, '.' and '-' need not be
    assert cpe.to_formatted(name) == r"cpe:2.3:a:foo\:bar:prod.x:1.0-beta:*:*:*:*:*:*:*"
    literal_star = cpe.parse(r"cpe:2.3:a:v:p:\*:*:*:*:*:*:*:*")[3]
    assert literal_star == "*"
    assert literal_star is not cpe.ANY


def test_case_insensitive_and_short_forms() -> None:
    assert cpe.parse("cpe:2.3:a:Apache:HTTP_Server")[1:3] == ("apache", "http_server")
    assert cpe.parse("cpe:2.3:a:apache:http_server")[3] is cpe.ANY


@pytest.mark.parametrize(
    "bad",
    ["", "cpe:2.3:", "cpe:2.4:a:x:y", "cpe:2.3:x:vendor:product:*:*:*:*:*:*:*:*", "cpe:2.3:a:v:p:1:*:*:*:*:*:*:*:*:extra", "cpe:2.3:a:v:p:1.*.0:*:*:*:*:*:*:*", "cpe:2.3:a:v:p:1\\"],
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        cpe.parse(bad)


def test_uri_to_formatted() -> None:
    assert cpe.to_formatted("cpe:/a:apache:http_server:2.4.1") == "cpe:2.3:a:apache:http_server:2.4.1:*:*:*:*:*:*:*"
    assert cpe.to_formatted("cpe:/o:microsoft:windows_10:-") == "cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*"
    packed = cpe.parse_uri("cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~")
    assert packed[5] is cpe.ANY
    assert packed[7] == "online"
    assert packed[8] == "win2003"
    assert packed[9] == "x64"
    assert cpe.parse("cpe:/a:foo%21bar:baz")[1] == "foo!bar"
    assert isinstance(cpe.parse_uri("cpe:/a:vendor:prod:1.%02")[3], cpe.Wildcard)


def test_any_versus_na() -> None:
    any_, na = cpe.ANY, cpe.NA
    assert cpe.attribute_match(any_, "x") is True
    assert cpe.attribute_match(any_, na) is True
    assert cpe.attribute_match(na, na) is True
    assert cpe.attribute_match(na, "x") is False
    assert cpe.attribute_match("x", na) is False
    assert cpe.attribute_match("x", "x") is True
    assert cpe.attribute_match("x", "y") is False
    # the inventory said ANY where the criteria needs a value: not decided
    assert cpe.attribute_match("x", any_) is None
    assert cpe.attribute_match(na, any_) is None


def test_wildcards_in_source() -> None:
    src = "cpe:2.3:a:apache:http_server:2.4.*:*:*:*:*:*:*:*"
    assert cpe.name_match(src, "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*") is True
    assert cpe.name_match(src, "cpe:2.3:a:apache:http_server:2.5.0:*:*:*:*:*:*:*") is False
    assert cpe.name_match("cpe:2.3:a:apache:http_server:2.4.?:*:*:*:*:*:*:*", "cpe:2.3:a:apache:http_server:2.4.9:*:*:*:*:*:*:*") is True
    assert cpe.name_match("cpe:2.3:a:apache:http_server:2.4.?:*:*:*:*:*:*:*", "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*") is False


def test_name_match_tristate() -> None:
    src = "cpe:2.3:a:wp:plugin:1.0:*:*:*:*:wordpress:*:*"
    assert cpe.name_match(src, "cpe:2.3:a:wp:plugin:1.0:*:*:*:*:wordpress:*:*") is True
    assert cpe.name_match(src, "cpe:2.3:a:wp:plugin:1.0:*:*:*:*:joomla:*:*") is False
    assert cpe.name_match(src, "cpe:2.3:a:wp:plugin:1.0:*:*:*:*:*:*:*") is None


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="cpe:2.3aoh\\*?-_.!/%~xyz01", max_size=60))
def test_junk_raises_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        cpe.parse(text)
