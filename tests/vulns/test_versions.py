"""Each ecosystem's version order, and that junk never raises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.vulns.versions import ecosystem_scheme, generic_key, semver_key, version_key


def k(ecosystem: str, version: str) -> Any:
    key = version_key(ecosystem, version)
    assert key is not None, (ecosystem, version)
    return key


def sk(version: str) -> Any:
    key = semver_key(version)
    assert key is not None, version
    return key


def ordered(ecosystem: str, versions: list[str]) -> None:
    keys: list[Any] = [version_key(ecosystem, v) for v in versions]
    assert all(k is not None for k in keys), list(zip(versions, keys, strict=True))
    for (a, ka), (b, kb) in zip(zip(versions, keys, strict=True), zip(versions[1:], keys[1:], strict=True), strict=False):
        assert ka < kb, f"{ecosystem}: {a} < {b}"


def test_pypi_pep440_order() -> None:
    ordered("PyPI", ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0+local.1", "1.0.post1", "1.0.1", "1!0.1"])
    assert version_key("PyPI", "1.0") == version_key("PyPI", "1.0.0")
    assert version_key("PyPI", "v1.0") == version_key("PyPI", "1.0")
    assert version_key("PyPI", "0.9-eevee") is None  # legacy, not PEP 440: flagged, not guessed


def test_debian_epoch_tilde() -> None:
    ordered("Debian:12", ["1.0~rc1-1", "1.0-1", "1.0-1+deb12u1", "1.0-2", "2.0-1", "1:1.0-1"])
    assert k("Debian", "1:1.0-1") > k("Debian", "2.0-1")
    assert k("Ubuntu:22.04:LTS", "1.0~~") < k("Ubuntu:22.04:LTS", "1.0~")


def test_npm_prerelease_and_build() -> None:
    ordered("npm", ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1"])
    assert version_key("npm", "1.0.0+build.5") == version_key("npm", "1.0.0")
    assert version_key("npm", "1.0") is None  # npm versions are full SemVer


def test_semver_strict() -> None:
    assert semver_key("1.2.3+meta") == semver_key("1.2.3")
    assert semver_key("v1.2.3") == semver_key("1.2.3")
    assert semver_key("01.2.3") is None
    assert semver_key("1.2") is None
    assert sk("1.0.0-2") < sk("1.0.0-10") < sk("1.0.0-a")


def test_go_pseudo_versions() -> None:
    ordered("Go", ["v0.0.0-20200101000000-abcdef123456", "v0.1.0", "v1.2.3", "v2.0.0+incompatible", "v2.0.1"])


def test_maven_qualifiers() -> None:
    ordered("Maven", ["1.0-alpha-1", "1.0-beta", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp", "1.0.1"])
    assert version_key("Maven", "1.0") == version_key("Maven", "1.0.0") == version_key("Maven", "1.0-ga")


def test_other_ecosystems() -> None:
    ordered("RubyGems", ["1.0.0.pre", "1.0.0", "1.0.0.1"])
    ordered("NuGet", ["1.0.0-beta", "1.0.0", "1.0.0.1"])
    ordered("Alpine:v3.18", ["1.2.3_rc1-r0", "1.2.3-r0", "1.2.3-r1"])
    ordered("Rocky Linux:8", ["1.0~rc1-1.el8", "1.0-1.el8", "1.0-2.el8", "1:0.5-1.el8"])
    ordered("crates.io", ["0.1.0-alpha", "0.1.0", "0.10.0"])


def test_unknown_ecosystem_has_no_order() -> None:
    assert ecosystem_scheme("Hackage") is None
    assert version_key("Hackage", "1.0") is None
    assert version_key("PyPI", "") is None
    assert version_key("Maven", "abc") is None  # univers would take any text


def test_generic_natural_order() -> None:
    seq = ["1.0beta", "1.0rc1", "1.0", "1.0.1", "1.0.2", "1.0.2k", "1.0.2za", "1.0.3", "2.4.6", "2.4.50", "10.0"]
    keys = [generic_key(v) for v in seq]
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert len(set(keys)) == len(keys)
    assert generic_key("1.0") == generic_key("1.0.0") == generic_key("v1.0")
    assert generic_key("1.0.0rc1") < generic_key("1.0")  # type: ignore[operator]
    assert generic_key("1.0.0.0rc1") > generic_key("1.0.0rc1")  # type: ignore[operator]
    assert generic_key("5.0 sp1") > generic_key("5.0")  # type: ignore[operator]
    assert generic_key("-") is None


@pytest.mark.parametrize("ecosystem", ["PyPI", "npm", "Maven", "Go", "crates.io", "RubyGems", "NuGet", "Packagist", "Debian:12", "Alpine:v3.18", "Red Hat", "Hex", "ConanCenter"])
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40))
def test_junk_never_raises(ecosystem: str, text: str) -> None:
    key = version_key(ecosystem, text)
    if key is not None:
        assert not key < key  # orderable with itself
    generic_key(text)
    semver_key(text)


@settings(max_examples=200, deadline=None)
@given(text=st.from_regex(r"[0-9a-z.\-+~:_]{1,20}", fullmatch=True))
def test_version_like_junk_never_raises(text: str) -> None:
    for eco in ("PyPI", "Debian", "Maven", "npm", "Alpine", "Rocky Linux", "NuGet", "RubyGems"):
        version_key(eco, text)
    generic_key(text)


_PEP440 = st.builds(
    lambda epoch, release, pre, post, dev, local: (
        f"{epoch}!" if epoch else "") + ".".join(map(str, release)) + pre + post + dev + local,
    st.sampled_from([0, 0, 0, 1]),
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc1", "rc10", "alpha", "c3"]),
    st.sampled_from(["", ".post1", "-1", ".post0"]),
    st.sampled_from(["", ".dev0", ".dev3"]),
    st.sampled_from(["", "+local.1", "+abc"]))


@given(_PEP440, _PEP440)
@settings(max_examples=300, deadline=None)
def test_the_pypi_key_orders_as_univers_does(a: str, b: str) -> None:
    from univers.versions import PypiVersion

    ua, ub = PypiVersion(a), PypiVersion(b)
    ka, kb = k("PyPI", a), k("PyPI", b)
    assert (ka < kb, ka == kb, ka > kb) == (ua < ub, ua == ub, ua > ub)
