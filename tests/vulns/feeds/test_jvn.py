"""JVN iPedia feeds: VULDEF and JVNRSS, including hostile and oddly encoded XML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.vulns.cpe import formatted_or_none
from renkei.vulns.feeds import jvn
from renkei.vulns.model import Advisory, FeedProblem, Source, VersionBound

JST = timezone(timedelta(hours=9))


def vuldef(encoding: str = "UTF-8", ns: str = "http://jvn.jp/vuldef/") -> str:
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<VULDEF-Document version="3.2" xmlns="{ns}" xmlns:vuldef="{ns}"
    xmlns:status="http://jvndb.jvn.jp/myjvn/Status" xml:lang="ja">
  <Vulinfo>
    <VulinfoID>JVNDB-2024-000123</VulinfoID>
    <VulinfoData>
      <Title>ウィジェット管理ツールにおけるクロスサイトスクリプティングの脆弱性</Title>
      <VulinfoDescription><Overview>ウィジェット管理ツールには、格納型のクロスサイトスクリプティングの脆弱性が存在します。</Overview></VulinfoDescription>
      <Affected>
        <AffectedItem>
          <Name>架空ソフト株式会社</Name>
          <ProductName>ウィジェット管理ツール</ProductName>
          <Cpe version="2.2">cpe:/a:kaku-soft:widget_manager</Cpe>
          <VersionNumber>２．４．１ より前のバージョン</VersionNumber>
          <VersionNumber>3.0.0</VersionNumber>
        </AffectedItem>
        <AffectedItem>
          <Name>架空ソフト株式会社</Name>
          <ProductName>ウィジェットゲートウェイ</ProductName>
          <Cpe version="2.2">cpe:/h:kaku-soft:widget_gateway</Cpe>
          <VersionNumber>ファームウェア 2019年以降</VersionNumber>
        </AffectedItem>
      </Affected>
      <Impact>
        <Cvss version="2.0"><Severity type="Base">Medium</Severity><Base>4.3</Base><Vector>AV:N/AC:M/Au:N/C:N/I:P/A:N</Vector></Cvss>
        <Cvss version="3.0"><Severity type="Base">Medium</Severity><Base>6.1</Base><Vector>AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N</Vector></Cvss>
        <ImpactItem><Description>ユーザのウェブブラウザ上で任意のスクリプトを実行される可能性があります。</Description></ImpactItem>
      </Impact>
      <Solution><SolutionItem><Description>開発者が提供する情報をもとに、最新版へアップデートしてください。</Description></SolutionItem></Solution>
      <Related>
        <RelatedItem type="vendor"><Name>架空ソフト株式会社</Name><VulinfoID>KS-SA-2024-01</VulinfoID><URL>https://kaku-soft.example/security/2024-01</URL></RelatedItem>
        <RelatedItem type="advisory"><Name>Common Vulnerabilities and Exposures (CVE)</Name><VulinfoID>CVE-2024-10001</VulinfoID><URL>https://www.cve.org/CVERecord?id=CVE-2024-10001</URL></RelatedItem>
        <RelatedItem type="advisory"><Name>Common Vulnerabilities and Exposures (CVE)</Name><VulinfoID>CVE-2024-10002</VulinfoID><URL>https://www.cve.org/CVERecord?id=CVE-2024-10002</URL></RelatedItem>
        <RelatedItem type="cwe"><Name>JVNDB</Name><VulinfoID>CWE-79</VulinfoID><Title>クロスサイトスクリプティング</Title></RelatedItem>
        <RelatedItem type="cwe"><Name>JVNDB</Name><VulinfoID>CWE-noinfo</VulinfoID></RelatedItem>
      </Related>
      <DateFirstPublished>2024-03-01T12:00:00+09:00</DateFirstPublished>
      <DateLastUpdated>2024-03-05T10:30:00+09:00</DateLastUpdated>
      <DatePublic>2024-02-28T00:00:00+09:00</DatePublic>
    </VulinfoData>
  </Vulinfo>
  <Vulinfo>
    <VulinfoData><Title>識別子のないレコード</Title></VulinfoData>
  </Vulinfo>
  <Vulinfo>
    <VulinfoID>JVNDB-2024-000124</VulinfoID>
    <VulinfoData>
      <Title>別の脆弱性</Title>
      <DateLastUpdated>not a date</DateLastUpdated>
    </VulinfoData>
  </Vulinfo>
  <status:Status version="3.3" method="getVulnDetailInfo" retCd="0" totalRes="3" />
</VULDEF-Document>
"""


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns="http://purl.org/rss/1.0/"
  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:dcterms="http://purl.org/dc/terms/"
  xmlns:sec="http://jvn.jp/rss/mod_sec/3.0/" xml:lang="ja">
  <channel rdf:about="https://jvndb.jvn.jp/ja/rss/jvndb_new.rdf">
    <title>JVNDB 新着情報</title>
    <link>https://jvndb.jvn.jp/</link>
    <description>架空のフィード</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://jvndb.jvn.jp/ja/contents/2024/JVNDB-2024-001001.html"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://jvndb.jvn.jp/ja/contents/2024/JVNDB-2024-001001.html">
    <title>架空ルータにおける OS コマンドインジェクションの脆弱性</title>
    <link>https://jvndb.jvn.jp/ja/contents/2024/JVNDB-2024-001001.html</link>
    <description>架空ルータには、OS コマンドインジェクションの脆弱性が存在します。</description>
    <sec:identifier>JVNDB-2024-001001</sec:identifier>
    <sec:references source="CVE" id="CVE-2024-20001">https://www.cve.org/CVERecord?id=CVE-2024-20001</sec:references>
    <sec:references source="NVD" id="CVE-2024-20001">https://nvd.nist.gov/vuln/detail/CVE-2024-20001</sec:references>
    <sec:references source="関連文書" id="example.com (advisory)">
      https://router.example/advisory</sec:references>
    <sec:references title="OS コマンドインジェクション(CWE-78)" id="CWE-78">https://cwe.mitre.org/data/definitions/78.html</sec:references>
    <sec:cpe version="2.2" vendor="架空ネットワークス" product="架空ルータ">
      cpe:/o:kaku-net:router_firmware%2b%2b</sec:cpe>
    <sec:cvss version="3.0" score="9.8" type="Base" severity="Critical"
      vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" />
    <dc:date>2024-04-11T23:52+09:00</dc:date>
    <dcterms:issued>2024-04-10T10:00+09:00</dcterms:issued>
    <dcterms:modified>2024-04-11T23:52+09:00</dcterms:modified>
  </item>
  <item rdf:about="https://jvndb.jvn.jp/ja/contents/2024/none.html">
    <title>no identifier</title>
  </item>
</rdf:RDF>
"""


def records(data: bytes) -> tuple[list[Advisory], list[FeedProblem]]:
    out = list(jvn.read(data, "feed.xml"))
    advisories = [r for r in out if isinstance(r, Advisory)]
    problems = [r for r in out if isinstance(r, FeedProblem)]
    assert len(advisories) + len(problems) == len(out)
    return advisories, problems


def test_vuldef_happy_path() -> None:
    advisories, problems = records(vuldef().encode())
    assert [a.id for a in advisories] == ["JVNDB-2024-000123", "JVNDB-2024-000124"]
    a = advisories[0]
    assert a.source is Source.JVN
    assert a.language == "ja"
    assert a.aliases == ("CVE-2024-10001", "CVE-2024-10002")
    assert a.cves == ("CVE-2024-10001", "CVE-2024-10002")
    assert a.cwes == ("CWE-79",)
    assert a.title.startswith("ウィジェット管理ツール")
    assert "格納型" in a.summary
    assert "アップデート" in a.details
    assert a.published == datetime(2024, 3, 1, 12, tzinfo=JST)
    assert a.modified == datetime(2024, 3, 5, 10, 30, tzinfo=JST)
    schemes = {s.scheme: s for s in a.severities}
    assert schemes["CVSS_V3"].vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"
    assert schemes["CVSS_V3"].score == 6.1
    assert schemes["CVSS_V3"].publisher == "JVN"
    assert schemes["CVSS_V2"].vector == "AV:N/AC:M/Au:N/C:N/I:P/A:N"
    assert "https://kaku-soft.example/security/2024-01" in a.references
    p0, p1, p2 = a.products
    assert p0.cpe == "cpe:2.3:a:kaku-soft:widget_manager:*:*:*:*:*:*:*:*"
    assert (p0.vendor, p0.product) == ("架空ソフト株式会社", "ウィジェット管理ツール")
    assert p0.upper == VersionBound("2.4.1", False)
    assert p0.parsed
    assert p1.exact == ("3.0.0",)
    assert p2.parsed is False
    assert p2.text == "ファームウェア 2019年以降"
    assert advisories[1].modified is None  # an unreadable date is left out, not guessed
    assert len(problems) == 1
    assert problems[0].location == "feed.xml#Vulinfo[1]"
    assert "VulinfoID" in problems[0].message


def test_vuldef_https_namespace_reads_too() -> None:
    advisories, _ = records(vuldef(ns="https://jvn.jp/vuldef/").encode())
    assert advisories[0].id == "JVNDB-2024-000123"


@pytest.mark.parametrize(("encoding", "codec"), [("Shift_JIS", "shift_jis"), ("EUC-JP", "euc_jp"), ("UTF-8", "utf-8")])
def test_declared_encodings(encoding: str, codec: str) -> None:
    data = vuldef(encoding).encode(codec)
    assert jvn.looks_like(data[:65536], "x.xml")
    advisories, _ = records(data)
    assert advisories[0].title.startswith("ウィジェット管理ツール")


def test_shift_jis_with_windows_characters() -> None:
    text = vuldef("Shift_JIS").replace("別の脆弱性", "別の脆弱性 ①")
    advisories, _ = records(text.encode("cp932"))
    assert advisories[1].title == "別の脆弱性 ①"


def test_utf16_without_declaration_never_crashes() -> None:
    body = vuldef().split("\n", 1)[1]
    for data in (body.encode("utf-16-le"), body.encode("utf-16-be"), body.encode("utf-16")):
        out = list(jvn.read(data, "u16.xml"))
        assert out
        assert all(isinstance(r, Advisory | FeedProblem) for r in out)


def test_wrong_declared_encoding_is_a_problem() -> None:
    data = vuldef("no-such-codec").encode()
    [p] = list(jvn.read(data, "x.xml"))
    assert isinstance(p, FeedProblem)
    assert p.record_id is None


def test_rss_happy_path() -> None:
    assert jvn.looks_like(RSS.encode()[:65536], "jvndb_new.rdf")
    advisories, problems = records(RSS.encode())
    [a] = advisories
    assert a.id == "JVNDB-2024-001001"
    assert a.aliases == ("CVE-2024-20001",)
    assert a.cwes == ("CWE-78",)
    assert a.published == datetime(2024, 4, 10, 10, tzinfo=JST)
    assert a.modified == datetime(2024, 4, 11, 23, 52, tzinfo=JST)
    assert a.references[0] == "https://jvndb.jvn.jp/ja/contents/2024/JVNDB-2024-001001.html"
    assert "https://router.example/advisory" in a.references
    [sev] = a.severities
    assert (sev.scheme, sev.score) == ("CVSS_V3", 9.8)
    [prod] = a.products
    assert prod.cpe == r"cpe:2.3:o:kaku-net:router_firmware\+\+:*:*:*:*:*:*:*:*"
    assert (prod.vendor, prod.product, prod.parsed) == ("架空ネットワークス", "架空ルータ", False)
    assert a.language == "ja"
    [p] = problems
    assert p.location == "feed.xml#item[1]"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<VULDEF-Document xmlns="http://jvn.jp/vuldef/"><Vulinfo><VulinfoID>&lol4;</VulinfoID></Vulinfo></VULDEF-Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<VULDEF-Document xmlns="http://jvn.jp/vuldef/"><Vulinfo><VulinfoID>&xxe;</VulinfoID></Vulinfo></VULDEF-Document>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE VULDEF-Document SYSTEM "http://attacker.example/evil.dtd">
<VULDEF-Document xmlns="http://jvn.jp/vuldef/"/>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_refused(data: bytes) -> None:
    [p] = list(jvn.read(data, "evil.xml"))
    assert isinstance(p, FeedProblem)
    assert "hostile" in p.message


def test_truncated_xml_is_a_problem() -> None:
    data = vuldef().encode()
    [p] = list(jvn.read(data[: len(data) // 2], "cut.xml"))
    assert isinstance(p, FeedProblem)
    assert "well-formed" in p.message


def test_other_xml_is_not_jvn() -> None:
    [p] = list(jvn.read(b"<rss><channel/></rss>", "other.xml"))
    assert isinstance(p, FeedProblem)
    assert "not a JVN feed" in p.message
    assert not jvn.looks_like(b"<rss><channel/></rss>", "other.xml")
    assert not jvn.looks_like(b'{"document": {}}', "x.json")


@pytest.mark.parametrize(
    ("uri", "fs"),
    [
        ("cpe:/a:veritas:netbackup", "cpe:2.3:a:veritas:netbackup:*:*:*:*:*:*:*:*"),
        ("cpe:/a:apache:xerces-c%2b%2b:1.0", r"cpe:2.3:a:apache:xerces-c\+\+:1.0:*:*:*:*:*:*:*"),
        ("cpe:/a:dendai.ac.jp:myjvn_api", "cpe:2.3:a:dendai.ac.jp:myjvn_api:*:*:*:*:*:*:*:*"),
        ("cpe:/a:foo:bar:1.0:-", "cpe:2.3:a:foo:bar:1.0:-:*:*:*:*:*:*"),
        ("cpe:/a:foo:bar:1.0::~~~wordpress~~", "cpe:2.3:a:foo:bar:1.0:*:*:*:*:wordpress:*:*"),
        ("cpe:/a:foo:bar:1.%02", "cpe:2.3:a:foo:bar:1.*:*:*:*:*:*:*:*"),
        ("cpe:/a:foo~bar:baz", r"cpe:2.3:a:foo\~bar:baz:*:*:*:*:*:*:*:*"),
        ("CPE:/A:Foo:Bar", "cpe:2.3:a:foo:bar:*:*:*:*:*:*:*:*"),
        ("cpe:2.3:a:foo:bar:1.0:*:*:*:*:*:*:*", "cpe:2.3:a:foo:bar:1.0:*:*:*:*:*:*:*"),
        ("cpe:/x:foo:bar", None),
        ("cpe:/a:a!b:c", r"cpe:2.3:a:a\!b:c:*:*:*:*:*:*:*:*"),
        ("cpe:/a:foo:bar:1:2:3:4:5", None),
        ("cpe:/a:foo:bar:1.0::~x~y", None),
        ("not a cpe", None),
        ("cpe:2.3:a:foo", "cpe:2.3:a:foo:*:*:*:*:*:*:*:*:*"),
    ],
)
def test_cpe_names_in_feeds_are_made_canonical(uri: str, fs: str | None) -> None:
    assert formatted_or_none(uri) == fs


def test_long_fields_are_bounded() -> None:
    text = vuldef().replace("ウィジェット管理ツールには", "長" * 200_000)
    advisories, _ = records(text.encode())
    assert len(advisories[0].summary) <= 64 * 1024


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    for r in jvn.read(data, "fuzz.xml"):
        assert isinstance(r, Advisory | FeedProblem)
    jvn.looks_like(data, "fuzz.xml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_feeds(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from([vuldef().encode(), RSS.encode()])))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(base) - 1))
        op = data.draw(st.integers(0, 2))
        if op == 0:
            base[i] = data.draw(st.integers(0, 255))
        elif op == 1:
            del base[i : i + data.draw(st.integers(1, 200))]
        else:
            base[i:i] = data.draw(st.binary(min_size=1, max_size=20))
    for r in jvn.read(bytes(base), "mut.xml"):
        assert isinstance(r, Advisory | FeedProblem)
