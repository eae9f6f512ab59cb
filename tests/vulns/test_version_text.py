"""JVN's version prose: read what is certain, refuse the rest."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.vulns.model import VersionBound
from renkei.vulns.version_text import parse_version_text, product_versions


def LT(v: str) -> VersionBound:
    return VersionBound(v, False)


def LE(v: str) -> VersionBound:
    return VersionBound(v, True)


GE, GT = LE, LT  # a lower bound reads the same: inclusive or not


@pytest.mark.parametrize(
    ("text", "lower", "upper", "exact"),
    [
        ("2.4.1 より前のバージョン", None, LT("2.4.1"), ()),
        ("Ver.3.0.2 未満", None, LT("3.0.2"), ()),
        ("1.2 以前", None, LE("1.2"), ()),
        ("1.2 以下", None, LE("1.2"), ()),
        ("1.2以前のバージョン", None, LE("1.2"), ()),
        ("2.0 以降", GE("2.0"), None, ()),
        ("2.0 以上", GE("2.0"), None, ()),
        ("2.0 より後", GT("2.0"), None, ()),
        ("2.0 超", GT("2.0"), None, ()),
        ("1.0 から 1.5 まで", GE("1.0"), LE("1.5"), ()),
        ("v2.0.0 から v2.3.1 まで", GE("2.0.0"), LE("2.3.1"), ()),
        ("1.0〜1.5", GE("1.0"), LE("1.5"), ()),
        ("1.0 以上 2.0 未満", GE("1.0"), LT("2.0"), ()),
        ("1.0 以上かつ 2.0 未満", GE("1.0"), LT("2.0"), ()),
        ("バージョン 3.1.0", None, None, ("3.1.0",)),
        ("２．４．１ より前", None, LT("2.4.1"), ()),
        ("Ｖｅｒ．２．４．１ 未満", None, LT("2.4.1"), ()),
        ("3.0.1 およびそれ以前", None, LE("3.0.1"), ()),
        ("ファームウェア Ver.1.00.02 およびそれ以前のバージョン", None, LE("1.00.02"), ()),
        ("2.0 より前の全てのバージョン", None, LT("2.0"), ()),
        ("1.0、1.1、1.2", None, None, ("1.0", "1.1", "1.2")),
        ("1.0, 1.1 and 1.2", None, None, ("1.0", "1.1", "1.2")),
        ("1.0.5、2.0 より前", None, LT("2.0"), ("1.0.5",)),
        ("prior to 2.4.1", None, LT("2.4.1"), ()),
        ("versions prior to 2.4.1", None, LT("2.4.1"), ()),
        ("before 2.4.1", None, LT("2.4.1"), ()),
        ("through 1.2", None, LE("1.2"), ()),
        ("3.0.1 and earlier", None, LE("3.0.1"), ()),
        ("2.0 or later", GE("2.0"), None, ()),
        ("after 2.0", GT("2.0"), None, ()),
        ("versions 1.0 to 1.5", GE("1.0"), LE("1.5"), ()),
        ("from 1.0 through 1.5", GE("1.0"), LE("1.5"), ()),
        ("1.0 - 1.5", GE("1.0"), LE("1.5"), ()),
        ("< 2.4.1", None, LT("2.4.1"), ()),
        ("<= 1.2", None, LE("1.2"), ()),
        (">= 1.0, < 2.0", GE("1.0"), LT("2.0"), ()),
        ("Version 7.7", None, None, ("7.7",)),
        ("1.0rc1", None, None, ("1.0rc1",)),
    ],
)
def test_reads(text: str, lower: VersionBound | None, upper: VersionBound | None, exact: tuple[str, ...]) -> None:
    assert parse_version_text(text) == (lower, upper, exact, True)


@pytest.mark.parametrize("text", ["全てのバージョン", "すべてのバージョン", "all versions"])
def test_all_versions_is_unbounded_and_parsed(text: str) -> None:
    assert parse_version_text(text) == (None, None, (), True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ファームウェア 2019年以降",
        "2.0 系",
        "2.x",
        "1.0-1.5",  # a dash range inside one token: range or version? not guessed
        "1.2 以前、2.0 以降",  # two intervals
        "2.0 以降、1.0 以前",
        "8.0 SP1",
        "up to 1.2",  # inclusive or not: unclear
        "詳細はベンダ情報を参照してください",
        "free prose about the product",
        "1.0、",
        "より前",
        "N/A",
        "2.0 以降 1.0 未満",  # an empty interval
        "x" * 10_000,
    ],
)
def test_refuses(text: str) -> None:
    assert parse_version_text(text)[3] is False


def test_product_versions_keeps_text_and_flags() -> None:
    pv = product_versions("ベンダ", "製品", "cpe:2.3:a:v:p:*:*:*:*:*:*:*:*", "1.2 以前")
    assert (pv.vendor, pv.product, pv.text, pv.upper, pv.parsed) == ("ベンダ", "製品", "1.2 以前", LE("1.2"), True)
    flagged = product_versions("v", "p", None, "ファームウェア 2019年以降")
    assert flagged.parsed is False
    assert flagged.lower is None
    assert flagged.text == "ファームウェア 2019年以降"


def test_product_versions_bounds_long_fields() -> None:
    pv = product_versions("v" * 5000, "p" * 5000, None, "1" * 10_000)
    assert len(pv.vendor) <= 1024
    assert len(pv.product) <= 1024
    assert len(pv.text) <= 4096


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    lower, upper, exact, parsed = parse_version_text(text)
    assert isinstance(parsed, bool)
    if not parsed:
        assert (lower, upper, exact) == (None, None, ())


_PIECES = ["1.0", "2.4.1", " ", "より前", "以前", "以降", "未満", "から", "まで", "、", ",", "and", "or later",
           "prior to", "<", ">=", "~", "-", "バージョン", "全てのバージョン", "x", "系", "年"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_never_raises_on_near_miss_prose(pieces: list[str]) -> None:
    lower, upper, _, parsed = parse_version_text("".join(pieces))
    if parsed and lower is not None and upper is not None:
        assert lower.version
        assert upper.version


def test_superscript_digits_are_not_numbers() -> None:
    from renkei.vulns.version_text import _naive_key

    assert _naive_key("1.²") is None  # str.isdigit() takes "²"; int() does not
    assert _naive_key("1.2") == (1, 2)
