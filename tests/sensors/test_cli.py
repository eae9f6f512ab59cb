"""`renkei sensors …` as an operator scripts it: register, ranges, ingest with problems,
series and findings back, notify; and `analyse --json`, the public contract, without any
database."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from renkei.cli import app
from tests.sensors.sample_captures import (
    MIRAI_SRC,
    VICTIM,
    ZMAP_SRC,
    darknet_capture,
    truncated_capture,
)

runner = CliRunner()
CONTRACT = ("kind", "src", "ports", "protocol", "fingerprints", "packets", "first", "last",
            "sensor")


def renkei(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not an exit status
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hub(renkei_home: Path) -> Path:
    for args in (("orgs", "add", "Hub", "--hub"), ("orgs", "add", "ISP"),
                 ("orgs", "add", "Bank"),
                 ("sensors", "register", "tokyo-1", "--site", "Koganei", "--owner", "Hub",
                  "--block", "203.0.113.0/24"),
                 ("sensors", "ranges", "add", "ISP", "198.51.100.0/25"),
                 ("sensors", "ranges", "add", "Bank", "198.51.100.128/25"),
                 ("sensors", "ranges", "add", "Bank", "AS64500")):
        code, out, err = renkei(*args)
        assert code == 0, (args, out, err)
    return renkei_home


def test_analyse_json_is_the_public_contract_and_needs_no_database(
        renkei_home: Path, write_file: Callable[..., Path]) -> None:
    capture = write_file(darknet_capture())
    code, out, err = renkei("sensors", "analyse", str(capture), "--json", "--sensor", "tokyo-1",
                            "--sensor-size", "256")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    for line in lines:
        assert set(CONTRACT) <= set(line)
    by_src = {line["src"]: line for line in lines}
    assert set(by_src) == {MIRAI_SRC, ZMAP_SRC, VICTIM}
    mirai = by_src[MIRAI_SRC]
    assert (mirai["kind"], mirai["ports"], mirai["protocol"], mirai["fingerprints"],
            mirai["packets"], mirai["sensor"]) == ("scanner", [23], "tcp", ["mirai"], 30,
                                                   "tokyo-1")
    assert mirai["first"] == "2026-04-01T08:00:00+00:00"
    assert by_src[ZMAP_SRC]["fingerprints"] == ["zmap"]
    assert by_src[VICTIM]["kind"] == "backscatter"
    assert by_src[VICTIM]["estimated_pps"] > 1e6
    # no database was opened, let alone created or migrated
    url = os.environ["RENKEI_DATABASE_URL"]
    if url.startswith("sqlite"):
        assert not Path(url.split("///", 1)[1]).exists()
    else:
        engine = create_engine(url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
    assert list(renkei_home.iterdir()) == []


def test_analyse_prints_a_table_and_reports_problems_with_their_offset(
        renkei_home: Path, write_file: Callable[..., Path]) -> None:
    data, offset = truncated_capture()
    cut = write_file(data, "cut.pcap")
    junk = write_file(b"<html>not a capture</html>", "junk.pcap")
    code, out, err = renkei("sensors", "analyse", str(cut), str(junk))
    assert code == 0
    assert "3 findings" in out
    assert "mirai" in out
    assert f"cut.pcap: record 64 at byte {offset}:" in err
    assert "junk.pcap: not a capture" in err


def test_analyse_writes_the_html_report_in_the_language_asked(
        renkei_home: Path, write_file: Callable[..., Path], tmp_path: Path) -> None:
    capture = write_file(darknet_capture())
    page = tmp_path / "report.html"
    code, out, err = renkei("sensors", "analyse", str(capture), "--sensor", "tokyo-1",
                            "--sensor-size", "256", "--json", "--html", str(page),
                            "--lang", "ja")
    assert code == 0, err
    assert all(json.loads(line)["kind"] for line in out.splitlines())  # stdout stays JSON
    text = page.read_text(encoding="utf-8")
    assert 'lang="ja"' in text
    assert "上位のスキャン元" in text
    assert ZMAP_SRC in text
    code, _out, err = renkei("sensors", "analyse", str(capture), "--html", str(page),
                             "--lang", "fr")
    assert code == 2


def test_analyse_exits_1_when_nothing_could_be_read(renkei_home: Path,
                                                     write_file: Callable[..., Path]) -> None:
    junk = write_file(b"\x00" * 100, "zeros.pcap")
    code, out, err = renkei("sensors", "analyse", str(junk), str(junk.with_name("none.pcap")),
                            "--json")
    assert code == 1
    assert out == ""
    assert "zeros.pcap" in err
    assert "none.pcap" in err


@pytest.mark.parametrize("args", [
    ("--sensor-size", str(2**32 + 1)), ("--sensor-size", "0"), ("--sensor-size", "9" * 40),
    ("--bucket", "7m"), ("--sensor", "a'; DROP TABLE sensors;--"),
    ("--sensor", "a", "--sensor", "b", "--sensor", "c"),
])
def test_analyse_refuses_bad_options(renkei_home: Path, write_file: Callable[..., Path],
                                     args: tuple[str, ...]) -> None:
    capture = write_file(darknet_capture())
    code, out, _ = renkei("sensors", "analyse", str(capture), str(capture), *args)
    assert code == 2
    assert out == ""


def test_analyse_names_each_capture_sensor(renkei_home: Path,
                                           write_file: Callable[..., Path]) -> None:
    a = write_file(darknet_capture(), "a.pcap")
    b = write_file(darknet_capture(), "b.pcap")
    code, out, err = renkei("sensors", "analyse", str(a), str(b), "--sensor", "east",
                            "--sensor", "west", "--json")
    assert code == 0, err
    assert {json.loads(line)["sensor"] for line in out.splitlines()} == {"east", "west"}


def test_register_list_and_ranges(hub: Path) -> None:
    code, out, _ = renkei("sensors", "list", "--json")
    assert code == 0
    assert json.loads(out) == {"name": "tokyo-1", "site": "Koganei", "owner": "Hub",
                               "addresses": 256, "blocks": ["203.0.113.0/24"]}
    code, out, _ = renkei("sensors", "list")
    assert "tokyo-1" in out
    assert "Koganei" in out
    code, out, _ = renkei("sensors", "ranges", "list", "--org", "Bank")
    assert out.splitlines() == ["Bank\tasn\tAS64500", "Bank\tcidr\t198.51.100.128/25"]
    code, out, _ = renkei("sensors", "ranges", "add", "Bank", "198.51.100.128/25")
    assert (code, out) == (0, "198.51.100.128/25\tunchanged\n")


@pytest.mark.parametrize("args", [
    ("sensors", "register", "x", "--site", "s", "--owner", "Hub", "--block", "10.0.0.1/8"),
    ("sensors", "register", "tokyo-1", "--site", "s", "--owner", "Hub", "--block", "10.0.0.0/8"),
    ("sensors", "register", "x y", "--site", "s", "--owner", "Hub", "--block", "10.0.0.0/8"),
    ("sensors", "register", "x", "--site", "s", "--owner", "Nobody", "--block", "10.0.0.0/8"),
    ("sensors", "ranges", "add", "ISP", "198.51.100.128/25"),
    ("sensors", "ranges", "add", "ISP", "not-a-range"),
    ("sensors", "series", "--sensor", "nowhere"),
    ("sensors", "series", "--since", "yesterday"),
    ("sensors", "findings", "--kind", "worm"),
    ("sensors", "notify", "--format", "xml"),
    ("sensors", "notify", "--org", "Nobody"),
])
def test_bad_input_is_a_message_and_status_2(hub: Path, args: tuple[str, ...]) -> None:
    code, out, err = renkei(*args)
    assert code == 2
    assert "error:" in err
    assert out == ""


def test_ingest_then_read_back_and_notify(hub: Path, write_file: Callable[..., Path]) -> None:
    data, offset = truncated_capture()
    day = write_file(darknet_capture(), "day.pcap")
    cut = write_file(data, "cut.pcap")
    junk = write_file(b"not a capture", "junk.pcap")
    code, out, err = renkei("sensors", "ingest", str(day), str(junk), "--sensor", "tokyo-1")
    assert code == 0, err
    assert "day.pcap (pcap): 65 records read" in err
    assert "junk.pcap: not a capture" in err
    assert "3 findings" in out
    code, out, err = renkei("sensors", "ingest", str(day), str(cut), "--sensor", "tokyo-1",
                            "--json")
    assert code == 0
    counts = json.loads(out)
    assert (counts["already"], counts["read"], counts["problems"]) == (1, 1, 1)
    assert f"cut.pcap: record 64 at byte {offset}:" in err
    assert "day.pcap: ingested before" in err

    code, out, _ = renkei("sensors", "series", "--port", "23", "--sensor", "tokyo-1",
                          "--since", "2026-04-01", "--until", "2026-04-02T00:00:00+09:00",
                          "--json")
    (point,) = [json.loads(line) for line in out.splitlines()]
    assert (point["packets"], point["sources"], point["sources_exact"]) == (59, 1, False)
    code, out, _ = renkei("sensors", "series")
    assert "tokyo-1" in out
    assert "≥" in out

    code, out, _ = renkei("sensors", "findings", "--kind", "scanner", "--port", "23", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["src"] for line in lines} == {MIRAI_SRC}
    assert all(set(CONTRACT) <= set(line) and line["sensor"] == "tokyo-1" for line in lines)
    code, out, _ = renkei("sensors", "findings", "--since", "2026-04-02")
    assert "0 findings" in out

    code, out, err = renkei("sensors", "notify", "--share")
    assert code == 0, err
    notices = {n["organisation"]: n for n in map(json.loads, out.splitlines())}
    assert [a["address"] for a in notices["ISP"]["addresses"]] == [MIRAI_SRC]
    assert [a["address"] for a in notices["Bank"]["addresses"]] == [VICTIM]
    assert any("AS64500" in note for note in notices["Bank"]["notes"])
    assert "with ISP: 1 addresses, TLP:AMBER+STRICT" in err
    code, out, _ = renkei("sensors", "notify", "--org", "ISP", "--format", "csv")
    assert out.splitlines()[0].startswith("organisation,address,matched")
    assert out.splitlines()[1].startswith(f"ISP,{MIRAI_SRC},198.51.100.0/25,scanner,mirai")


def test_ingest_of_nothing_readable_exits_1_and_unknown_sensor_2(
        hub: Path, write_file: Callable[..., Path]) -> None:
    junk = write_file(b"not a capture", "junk.pcap")
    code, _, err = renkei("sensors", "ingest", str(junk), "--sensor", "tokyo-1")
    assert code == 1
    assert "junk.pcap: not a capture" in err
    code, _, err = renkei("sensors", "ingest", str(junk), "--sensor", "nowhere")
    assert code == 2
    assert "no sensor 'nowhere'" in err


def test_messages_in_japanese(hub: Path, write_file: Callable[..., Path],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_LANG", "ja")
    code, _, err = renkei("sensors", "ingest", str(write_file(b"x" * 40)), "--sensor", "nowhere")
    assert code == 2
    assert "センサー" in err
    code, out, _ = renkei("sensors", "analyse", str(write_file(darknet_capture())))
    assert "件" in out
