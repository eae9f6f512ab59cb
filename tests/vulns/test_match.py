"""Package (OSV), CPE configuration (NVD) and product (JVN) matching."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.vulns.match import (
    Matcher,
    affected_by_package,
    configuration_matches,
    normalise_name,
    package_id,
    product_matches,
    purl_package,
)
from renkei.vulns.match import _parse_purl as full_purl_parse
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    Component,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EventKind,
    Hit,
    ProductVersions,
    RangeEvent,
    Source,
    VersionBound,
)

IN, F, L, LIM = EventKind.INTRODUCED, EventKind.FIXED, EventKind.LAST_AFFECTED, EventKind.LIMIT


def rng(*events: tuple[EventKind, str], kind: str = "ECOSYSTEM") -> AffectedRange:
    return AffectedRange(kind, tuple(RangeEvent(k, v) for k, v in events))


def pkg(eco: str, name: str, *ranges: AffectedRange, versions: tuple[str, ...] = ()) -> AffectedPackage:
    return AffectedPackage(eco, name, ranges=ranges, versions=versions)


def comp(purl: str, version: str | None = None) -> Component:
    return Component(given=purl, version=version, purl=purl)


def verdict(p: AffectedPackage, c: Component) -> bool | str | None:
    """True / None (flagged) / "no"."""
    hit = affected_by_package(p, c, "osv:TEST-1")
    if hit is None:
        return "no"
    return True if hit.certain else None


# --- names -------------------------------------------------------------------------------


def test_purl_to_osv_names() -> None:
    assert purl_package("pkg:maven/org.apache/foo@1.0") is not None
    assert purl_package("pkg:maven/org.apache/foo@1.0").name == "org.apache:foo"  # type: ignore[union-attr]
    npm = purl_package("pkg:npm/%40scope/pkg@1.0.0")
    assert npm is not None
    assert (npm.ecosystem, npm.name, npm.version) == ("npm", "@scope/pkg", "1.0.0")
    go = purl_package("pkg:golang/github.com/x/y@v1.2.3")
    assert go is not None
    assert go.name == "github.com/x/y"
    deb = purl_package("pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=bookworm")
    assert deb is not None
    assert (deb.ecosystem, deb.release) == ("Debian", "12")
    assert purl_package("pkg:deb/debian/openssl@1?distro=debian-12").release == "12"  # type: ignore[union-attr]
    assert purl_package("pkg:unknowntype/x@1") is None
    assert purl_package("not a purl") is None


_PURL_TYPES = st.sampled_from(["pypi", "PyPI", "npm", "maven", "golang", "deb", "apk",
                                "cargo", "gem", "generic", "oci", "1bad", "ty pe", ""])
_PLAIN = st.from_regex(r"[A-Za-z0-9._-]{1,10}", fullmatch=True)
_JUNK = st.text(alphabet="aZ09._-~+!@%:/ ?#=&Ü", max_size=10)
_NAMESPACE = st.one_of(st.none(), st.sampled_from(["debian", "ubuntu", "alpine", "@scope"]),
                       _PLAIN, _JUNK)
_VERSION = st.one_of(st.from_regex(r"[0-9a-z.+~!_-]{1,12}", fullmatch=True), st.none(),
                     st.text(alphabet="09a.~+-@:%/ ?#=", max_size=10))


@settings(max_examples=1000, deadline=None)
@given(kind=_PURL_TYPES, namespace=_NAMESPACE, name=st.one_of(_PLAIN, _PLAIN, _JUNK),
       version=_VERSION, tail=st.sampled_from(["", "", "", "", "?distro=bookworm", "#sub", "/"]))
def test_the_purl_fast_path_reads_as_packageurl_does(
        kind: str, namespace: str | None, name: str, version: str | None, tail: str) -> None:
    """The package-plus-version shortcut gives what packageurl's full parse gives, for
    well-formed purls and junk alike."""
    purl = f"pkg:{kind}/" + (f"{namespace}/" if namespace is not None else "") + name
    purl += (f"@{version}" if version is not None else "") + tail
    assert purl_package(purl) == full_purl_parse.__wrapped__(purl)


def test_name_normalisation() -> None:
    assert normalise_name("PyPI", "Django_Rest.Framework") == "django-rest-framework"
    assert normalise_name("npm", "@Scope/Pkg") == "@Scope/Pkg"  # npm is case-sensitive
    assert normalise_name("NuGet", "Newtonsoft.Json") == "newtonsoft.json"
    p = pkg("PyPI", "Django-Rest_Framework", rng((IN, "0"), (F, "3.0")))
    assert verdict(p, comp("pkg:pypi/django.rest.framework@2.0")) is True
    assert verdict(pkg("npm", "Foo", rng((IN, "0")), ), comp("pkg:npm/foo@1.0.0")) == "no"


# --- OSV range semantics ------------------------------------------------------------------


def test_introduced_zero_fixed_exclusive() -> None:
    p = pkg("PyPI", "django", rng((IN, "0"), (F, "4.2.8")))
    assert verdict(p, comp("pkg:pypi/django@4.2.7")) is True
    assert verdict(p, comp("pkg:pypi/django@4.2.8")) == "no"
    assert verdict(p, comp("pkg:pypi/django@4.2.8rc1")) is True  # pre-release sorts before


def test_multiple_pairs_unsorted() -> None:
    p = pkg("PyPI", "x", rng((IN, "2.0"), (F, "2.5"), (IN, "1.0"), (F, "1.5")))
    got = {v: verdict(p, comp(f"pkg:pypi/x@{v}")) for v in ["0.9", "1.0", "1.4", "1.5", "1.9", "2.0", "2.4.9", "2.5", "3.0"]}
    assert got == {"0.9": "no", "1.0": True, "1.4": True, "1.5": "no", "1.9": "no", "2.0": True, "2.4.9": True, "2.5": "no", "3.0": "no"}


def test_last_affected_inclusive_and_limit() -> None:
    p = pkg("npm", "x", rng((IN, "1.0.0"), (L, "1.2.0")))
    assert verdict(p, comp("pkg:npm/x@1.2.0")) is True
    assert verdict(p, comp("pkg:npm/x@1.2.1")) == "no"
    lim = pkg("npm", "x", rng((IN, "0"), (LIM, "2.0.0")))
    assert verdict(lim, comp("pkg:npm/x@1.9.9")) is True
    assert verdict(lim, comp("pkg:npm/x@2.0.0")) == "no"


def test_adjoining_ranges_join() -> None:
    p = pkg("PyPI", "x", rng((IN, "0"), (F, "3.1.1"), (IN, "3.1.1"), (F, "3.2.0")))
    assert verdict(p, comp("pkg:pypi/x@3.1.1")) is True


def test_overlapping_ranges_flag() -> None:
    p = pkg("PyPI", "wagtail", rng((IN, "2.11"), (F, "2.11.7"), (IN, "0"), (F, "2.11.6")))
    assert verdict(p, comp("pkg:pypi/wagtail@2.11.5")) is True
    assert verdict(p, comp("pkg:pypi/wagtail@2.11.6")) is None  # sweep says no, pairs say yes
    assert verdict(p, comp("pkg:pypi/wagtail@2.11.7")) == "no"


def test_versions_list_and_semver_range() -> None:
    p = pkg("Go", "github.com/x/y", rng((IN, "0"), (F, "1.2.3"), kind="SEMVER"), versions=("2.0.0",))
    assert verdict(p, comp("pkg:golang/github.com/x/y@v1.2.2")) is True
    assert verdict(p, comp("pkg:golang/github.com/x/y@v1.2.3+incompatible")) == "no"
    assert verdict(p, Component("x", "2.0.0", ecosystem="Go", name="github.com/x/y")) is True


def test_semver_range_in_unknown_ecosystem_and_ecosystem_range_flagged() -> None:
    semver = pkg("Hackage", "aeson", rng((IN, "1.0.0"), (F, "2.0.0"), kind="SEMVER"))
    assert verdict(semver, Component("aeson", "1.5.0", ecosystem="Hackage", name="aeson")) is True
    eco = pkg("Hackage", "aeson", rng((IN, "1.0"), (F, "2.0")))
    hit = affected_by_package(eco, Component("aeson", "1.5", ecosystem="Hackage", name="aeson"), "osv:X")
    assert hit is not None
    assert not hit.certain
    assert "no version order" in hit.why


def test_unparseable_version_and_unknown_version_flagged() -> None:
    p = pkg("PyPI", "paramiko", rng((IN, "0"), (F, "2.9.3")))
    hit = affected_by_package(p, comp("pkg:pypi/paramiko@0.9-eevee"), "osv:X")
    assert hit is not None
    assert not hit.certain
    hit = affected_by_package(p, comp("pkg:pypi/paramiko"), "osv:X")
    assert hit is not None
    assert not hit.certain
    assert "version unknown" in hit.why


def test_git_ranges() -> None:
    git = AffectedRange("GIT", (RangeEvent(IN, "0"), RangeEvent(F, "abc123")), repo="https://x")
    only_git = pkg("PyPI", "x", git)
    assert verdict(only_git, comp("pkg:pypi/x@1.0")) is None
    with_list = pkg("PyPI", "x", git, versions=("1.0",))
    assert verdict(with_list, comp("pkg:pypi/x@1.0")) is True
    assert verdict(with_list, comp("pkg:pypi/x@1.1")) == "no"


def test_distribution_releases() -> None:
    p = pkg("Debian:12", "openssl", rng((IN, "0"), (F, "3.0.11-1~deb12u2")))
    assert verdict(p, comp("pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=bookworm")) is True
    assert verdict(p, comp("pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-11")) == "no"
    hit = affected_by_package(p, comp("pkg:deb/debian/openssl@3.0.11-1~deb12u1"), "osv:DSA-1")
    assert hit is not None
    assert not hit.certain
    assert "release not known" in hit.why
    assert verdict(p, Component("openssl", "1:0.1-1", ecosystem="Debian:12", name="openssl")) == "no"  # epoch 1
    assert verdict(p, Component("openssl", "3.0.0-1", ecosystem="Debian:12", name="openssl")) is True
    any_release = pkg("Debian", "openssl", rng((IN, "0"), (F, "3.1")))
    assert verdict(any_release, comp("pkg:deb/debian/openssl@3.0?distro=bookworm")) is True
    alpine = pkg("Alpine:v3.18", "curl", rng((IN, "0"), (F, "8.4.0-r0")))
    assert verdict(alpine, comp("pkg:apk/alpine/curl@8.3.0-r0?distro=3.18.4")) is True
    assert package_id(Component("x", "1", ecosystem="Alpine:v3.18", name="curl")).release == "3.18"  # type: ignore[union-attr]


def test_hit_fields() -> None:
    p = pkg("PyPI", "django", rng((IN, "4.2"), (F, "4.2.8")))
    c = comp("pkg:pypi/django@4.2.1")
    hit = affected_by_package(p, c, "osv:GHSA-xxxx")
    assert hit is not None
    assert (hit.component, hit.advisory, hit.certain) == (c, "osv:GHSA-xxxx", True)
    assert hit.why == "PyPI django: introduced 4.2, fixed 4.2.8"


# --- CPE configurations -------------------------------------------------------------------

HTTPD = "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*"
WIN = "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"


def cpec(cpe: str, version: str | None = None) -> Component:
    return Component(given=cpe, version=version, cpe=cpe)


def one_node(*matches: CpeMatch, op: str = "OR", negate: bool = False) -> CpeConfiguration:
    return CpeConfiguration((CpeNode(op, matches, negate),))


def test_version_bounds() -> None:
    cfg = one_node(CpeMatch(HTTPD, version_start_including="2.4.0", version_end_excluding="2.4.50"))
    assert [h.certain for h in configuration_matches(cfg, [cpec("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*")])] == [True]
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:apache:http_server:2.4.50:*:*:*:*:*:*:*")]) == []
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:apache:http_server:2.3.9:*:*:*:*:*:*:*")]) == []
    # the inventory states the version beside a version-less CPE
    assert [h.certain for h in configuration_matches(cfg, [cpec(HTTPD, "2.4.6")])] == [True]
    # no version at all: flagged
    hits = configuration_matches(cfg, [cpec(HTTPD)])
    assert [h.certain for h in hits] == [False]
    assert "version unknown" in hits[0].why
    assert "versionEndExcluding 2.4.50" in configuration_matches(cfg, [cpec(HTTPD, "2.4.6")])[0].why


def test_exact_version_and_na() -> None:
    cfg = one_node(CpeMatch("cpe:2.3:a:openssl:openssl:1.0.2k:*:*:*:*:*:*:*"))
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:openssl:openssl:1.0.2k:*:*:*:*:*:*:*")])[0].certain
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:openssl:openssl:1.0.2:*:*:*:*:*:*:*")]) == []
    na = one_node(CpeMatch(WIN))
    assert configuration_matches(na, [cpec(WIN)])[0].certain
    assert configuration_matches(na, [cpec("cpe:2.3:o:microsoft:windows:10:*:*:*:*:*:*:*")]) == []
    assert not configuration_matches(na, [cpec("cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*")])[0].certain


def test_other_attributes_any_vs_value() -> None:
    cfg = one_node(CpeMatch("cpe:2.3:a:wp:forms:*:*:*:*:*:wordpress:*:*", version_end_excluding="2.0"))
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:wp:forms:1.0:*:*:*:*:wordpress:*:*")])[0].certain
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:wp:forms:1.0:*:*:*:*:joomla:*:*")]) == []
    hits = configuration_matches(cfg, [cpec("cpe:2.3:a:wp:forms:1.0:*:*:*:*:*:*:*")])
    assert not hits[0].certain
    assert "target_sw not known" in hits[0].why


def test_part_must_match() -> None:
    cfg = one_node(CpeMatch("cpe:2.3:o:vendor:thing:*:*:*:*:*:*:*:*"))
    assert configuration_matches(cfg, [cpec("cpe:2.3:a:vendor:thing:1:*:*:*:*:*:*:*")]) == []


def platform_config() -> CpeConfiguration:
    return CpeConfiguration(
        (
            CpeNode("OR", (CpeMatch(HTTPD, version_end_excluding="2.4.50"),)),
            CpeNode("OR", (CpeMatch(WIN, vulnerable=False),)),
        ),
        operator="AND",
    )


def test_platform_present_absent_other() -> None:
    app = cpec("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*")
    hits = configuration_matches(platform_config(), [app, cpec(WIN)])
    assert [(h.component, h.certain) for h in hits] == [(app, True)]  # no hit for the platform
    hits = configuration_matches(platform_config(), [app])
    assert [h.certain for h in hits] == [False]
    assert f"running on {WIN} not known" in hits[0].why
    # the inventory names the platform, but another one: not met
    assert configuration_matches(platform_config(), [app, cpec("cpe:2.3:o:microsoft:windows:10:*:*:*:*:*:*:*")]) == []


def test_and_node_and_negate() -> None:
    a, b = "cpe:2.3:a:v:a:*:*:*:*:*:*:*:*", "cpe:2.3:a:v:b:*:*:*:*:*:*:*:*"
    both = one_node(CpeMatch(a), CpeMatch(b), op="AND")
    ca, cb = cpec("cpe:2.3:a:v:a:1:*:*:*:*:*:*:*"), cpec("cpe:2.3:a:v:b:1:*:*:*:*:*:*:*")
    assert configuration_matches(both, [ca]) == []
    assert {h.component for h in configuration_matches(both, [ca, cb])} == {ca, cb}
    negated = CpeConfiguration(
        (CpeNode("OR", (CpeMatch(a),)), CpeNode("OR", (CpeMatch(b, vulnerable=False),), negate=True)),
        operator="AND",
    )
    assert [h.component for h in configuration_matches(negated, [ca])] == [ca]
    assert configuration_matches(negated, [ca, cb]) == []


# --- JVN products -------------------------------------------------------------------------


def test_product_versions() -> None:
    pv = ProductVersions("Apache Software Foundation", "HTTP Server", cpe="cpe:/a:apache:http_server", upper=VersionBound("2.4.50", inclusive=False))
    assert product_matches(pv, cpec("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"), "jvn:X").certain  # type: ignore[union-attr]
    assert product_matches(pv, cpec("cpe:2.3:a:apache:http_server:2.4.50:*:*:*:*:*:*:*"), "jvn:X") is None
    by_name = ProductVersions("Cybozu", "Garoon", lower=VersionBound("4.0.0", inclusive=True), upper=VersionBound("5.5.1", inclusive=True))
    assert product_matches(by_name, cpec("cpe:2.3:a:cybozu:garoon:5.5.1:*:*:*:*:*:*:*"), "jvn:X") is not None
    unread = ProductVersions("Cybozu", "Garoon", text="一部のバージョン", parsed=False)
    hit = product_matches(unread, cpec("cpe:2.3:a:cybozu:garoon:5.0:*:*:*:*:*:*:*"), "jvn:X")
    assert hit is not None
    assert not hit.certain
    exact = ProductVersions("x", "y", exact=("1.2",))
    assert product_matches(exact, cpec("cpe:2.3:a:x:y:1.2.0:*:*:*:*:*:*:*"), "jvn:X") is not None
    assert product_matches(exact, cpec("cpe:2.3:a:x:y:1.3:*:*:*:*:*:*:*"), "jvn:X") is None


# --- the index agrees with the one-off functions --------------------------------------------


def test_matcher_end_to_end() -> None:
    advisories = [
        Advisory(Source.OSV, "GHSA-1", None, packages=(pkg("PyPI", "django", rng((IN, "4.2"), (F, "4.2.8"))),)),
        Advisory(Source.OSV, "GHSA-2", None, packages=(pkg("PyPI", "django", rng((IN, "5.0"), (F, "5.0.1"))),)),
        Advisory(Source.NVD, "CVE-2021-41773", None, configurations=(platform_config(),)),
        Advisory(Source.NVD, "CVE-2000-1", None, configurations=(one_node(CpeMatch("cpe:2.3:a:*:http_server:*:*:*:*:*:*:*:*")),)),
        Advisory(Source.JVN, "JVNDB-1", None, products=(ProductVersions("Apache", "HTTP Server", upper=VersionBound("2.4.50", inclusive=False)),)),
    ]
    django = comp("pkg:pypi/Django@4.2.1")
    httpd = cpec("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*")
    other = comp("pkg:npm/left-pad@1.0.0")
    hits = Matcher(advisories).match([django, httpd, other])
    got = sorted((h.advisory, h.component.given, h.certain) for h in hits)
    assert got == [
        ("jvn:JVNDB-1", httpd.given, True),
        ("nvd:CVE-2000-1", httpd.given, True),
        ("nvd:CVE-2021-41773", httpd.given, False),
        ("osv:GHSA-1", django.given, True),
    ]


def test_one_hit_per_pair_certain_wins() -> None:
    adv = Advisory(
        Source.OSV,
        "GHSA-3",
        None,
        packages=(
            pkg("PyPI", "x", AffectedRange("GIT", (RangeEvent(IN, "0"),))),
            pkg("PyPI", "x", rng((IN, "0"))),
        ),
    )
    hits = Matcher([adv]).match([comp("pkg:pypi/x@1.0")])
    assert [(h.advisory, h.certain) for h in hits] == [("osv:GHSA-3", True)]


_CRITERIA = st.builds(
    lambda product, version, end, vulnerable: CpeMatch(
        f"cpe:2.3:a:acme:{product}:{version}:*:*:*:*:*:*:*", vulnerable=vulnerable,
        version_end_excluding=end if version == "*" else None),
    st.sampled_from(["router", "viewer", "agent"]), st.sampled_from(["*", "1.0", "2.1", "-"]),
    st.sampled_from(["1.5", "2.0", "3"]), st.booleans())
_CONFIGS = st.builds(
    lambda nodes, operator: CpeConfiguration(tuple(nodes), operator=operator),
    st.lists(st.builds(lambda ms, op, neg: CpeNode(op, tuple(ms), neg),
                       st.lists(_CRITERIA, min_size=1, max_size=3),
                       st.sampled_from(["OR", "AND"]), st.booleans()), min_size=1, max_size=3),
    st.sampled_from(["OR", "AND"]))
_INVENTORIES = st.lists(st.builds(
    lambda product, version: cpec(f"cpe:2.3:a:acme:{product}:{version}:*:*:*:*:*:*:*"),
    st.sampled_from(["router", "viewer", "agent"]),
    st.sampled_from(["0.9", "1.0", "2.1", "2.5", "-", "*"])), min_size=1, max_size=4)


@given(_CONFIGS, _INVENTORIES)
@settings(max_examples=400, deadline=None)
def test_the_or_of_ors_shortcut_agrees_with_the_full_evaluation(
        config: CpeConfiguration, components: list[Component]) -> None:
    from renkei.vulns.match import _compile_config, _Inventory

    fast = _compile_config("nvd:CVE-1", config, {})
    slow = _compile_config("nvd:CVE-1", config, {})
    slow.simple = False
    assert sorted(fast.hits(_Inventory.of(components))) == sorted(
        slow.hits(_Inventory.of(components)))


@given(st.lists(_CONFIGS, min_size=1, max_size=4), _INVENTORIES)
@settings(max_examples=300, deadline=None)
def test_the_indexed_matcher_agrees_with_each_configuration_alone(
        configs: list[CpeConfiguration], components: list[Component]) -> None:
    advisories = [Advisory(source=Source.NVD, id=f"CVE-2026-{n:04d}", modified=None,
                           configurations=(config,)) for n, config in enumerate(configs)]
    expected = {(hit.component.given, hit.advisory, hit.certain)
                for n, config in enumerate(configs)
                for hit in _best(configuration_matches(config, components,
                                                       f"nvd:CVE-2026-{n:04d}"))}
    found = {(hit.component.given, hit.advisory, hit.certain)
             for hit in Matcher(advisories).match(components)}
    assert found == expected


def _best(hits: list[Hit]) -> list[Hit]:
    """One hit per (component, record), a certain one first — as the Matcher keeps them."""
    kept: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        held = kept.get((hit.component.given, hit.advisory))
        if held is None or (hit.certain and not held.certain):
            kept[(hit.component.given, hit.advisory)] = hit
    return list(kept.values())
