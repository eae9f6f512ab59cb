"""The compiled rules kept on disk: a process that finds them loads them and matches
exactly as a fresh compile does; a damaged, foreign or unwritable cache only means
compiling again, silently."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from renkei.logs import hscache
from renkei.logs.match import FieldMatcher, Hit
from renkei.logs.rules import Rule, load_rules
from renkei.logs.scan import LogScanner
from renkei.logs.synth import generate

SAMPLE = [b"/index.php?id=1 union select password from users", b"/../../../etc/passwd",
          b"/search?q=<script>alert(1)</script>", b"/", b"${jndi:ldap://x.example/a}",
          b"/wp-login.php", b"", b"/.env", b"\xff\xfe not utf-8 \x00"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """RENKEI_HOME, whose ``cache/hyperscan`` the matchers use."""
    folder = tmp_path / "home"
    monkeypatch.setenv("RENKEI_HOME", str(folder))
    return folder


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    """Bundled rules on request targets: those the sample hits and a few it does not (few
    rules compile faster)."""
    targets = [r for r in load_rules() if "target" in r.fields]
    hit = [r for r in targets if any(r.compiled.search(line) for line in SAMPLE)]
    return hit + [r for r in targets if r not in hit][:6]


def _block(lines: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    data = b"".join(line + b"\n" for line in lines)
    starts = np.cumsum([0] + [len(line) + 1 for line in lines])
    return np.frombuffer(data, dtype=np.uint8), starts


def _hits(matcher: FieldMatcher) -> list[Hit]:
    return matcher.scan(*_block(SAMPLE))


def _files(home: Path) -> list[Path]:
    return sorted((home / "cache" / "hyperscan").glob("*.hsdb"))


def test_a_cached_database_matches_as_a_fresh_compile(home: Path, rules: list[Rule]) -> None:
    fresh = FieldMatcher(rules)
    assert not fresh.cached
    assert len(_files(home)) == 1
    loaded = FieldMatcher(rules)
    assert loaded.cached
    assert loaded.engine == "hyperscan"
    assert _hits(fresh)
    assert _hits(loaded) == _hits(fresh) == FieldMatcher(rules, use_hyperscan=False).scan(
        *_block(SAMPLE))
    assert not list((home / "cache" / "hyperscan").glob(".*.tmp"))  # no temporary left


def test_a_whole_scan_from_the_cache_finds_the_same(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes("".join(generate(2000, seed=11, attack_ratio=0.1)).encode()
                     + b"\xff broken\n")
    first = LogScanner()
    assert not any(m.cached for m in first.engine.matchers.values())
    second = LogScanner()
    assert all(m.cached for m in second.engine.matchers.values())
    one, two = first.scan_file(path), second.scan_file(path)
    assert one.findings
    assert (one.summary, one.findings, one.issue_counts) == (two.summary, two.findings,
                                                             two.issue_counts)


def test_another_rule_set_has_a_file_of_its_own(home: Path, rules: list[Rule]) -> None:
    FieldMatcher(rules[:5])
    FieldMatcher(rules[5:10])
    assert len(_files(home)) == 2
    assert FieldMatcher(rules[:5]).cached
    assert FieldMatcher(rules[5:10]).cached


def test_the_key_covers_patterns_ids_flags_and_order() -> None:
    base = hscache.key([b"ab", b"c"], [0, 1], [0, 0])
    others = [hscache.key([b"a", b"bc"], [0, 1], [0, 0]), hscache.key([b"c", b"ab"], [0, 1], [0, 0]),
              hscache.key([b"ab", b"c"], [1, 0], [0, 0]), hscache.key([b"ab", b"c"], [0, 1], [0, 2]),
              hscache.key([b"abc"], [0], [0])]
    assert base == hscache.key([b"ab", b"c"], [0, 1], [0, 0])
    assert len({base, *others}) == 1 + len(others)
    assert hscache.hyperscan.__version__.encode() in hscache.platform_key()


def _damaged(original: bytes, kind: str) -> bytes:
    head = len(hscache.MAGIC) + 64
    payload = b"\x00garbage\xff" * 200
    return {
        "empty": b"",
        "truncated": original[: len(original) // 2],
        "head only": original[:head],
        "one byte flipped": original[:-100] + bytes([original[-100] ^ 1]) + original[-99:],
        "garbage": os.urandom(4096),
        "old format": b"renkei hyperscan database 0\n" + original[len(hscache.MAGIC):],
        # well formed, its digest right, but not a database: Hyperscan refuses it
        "not a database": original[:len(hscache.MAGIC) + 32]
        + hashlib.sha256(payload).digest() + payload,
    }[kind]


@pytest.mark.parametrize("kind", ["empty", "truncated", "head only", "one byte flipped",
                                  "garbage", "old format", "not a database"])
def test_a_damaged_file_is_a_miss_and_is_written_again(home: Path, rules: list[Rule],
                                                       kind: str) -> None:
    expected = _hits(FieldMatcher(rules))
    (path,) = _files(home)
    original = path.read_bytes()
    path.write_bytes(_damaged(original, kind))
    again = FieldMatcher(rules)
    assert not again.cached
    assert _hits(again) == expected
    assert path.read_bytes()[:len(hscache.MAGIC) + 32] == original[:len(hscache.MAGIC) + 32]
    assert FieldMatcher(rules).cached  # mended


def test_a_file_of_another_rule_set_is_not_taken_for_this_one(home: Path,
                                                             rules: list[Rule]) -> None:
    FieldMatcher(rules[:3])
    (other,) = _files(home)
    FieldMatcher(rules)
    mine = next(p for p in _files(home) if p != other)
    mine.write_bytes(other.read_bytes())  # a whole, valid file, under the wrong name
    again = FieldMatcher(rules)
    assert not again.cached
    assert _hits(again) == _hits(FieldMatcher(rules, use_hyperscan=False))


def test_a_folder_that_is_not_a_folder_is_a_miss(home: Path, rules: list[Rule]) -> None:
    FieldMatcher(rules[:3])
    (path,) = _files(home)
    path.unlink()
    path.mkdir()  # reading it fails; writing over it too
    matcher = FieldMatcher(rules[:3])
    assert not matcher.cached
    assert matcher.engine == "hyperscan"


def _unwritable(tmp_path: Path) -> Path:
    """A folder no one can make: its parent is a file (root ignores permission bits)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "home"


def test_no_writable_cache_folder_means_compiling_each_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: list[Rule]) -> None:
    monkeypatch.setenv("RENKEI_HOME", str(_unwritable(tmp_path)))
    first, second = FieldMatcher(rules), FieldMatcher(rules)
    assert not first.cached
    assert not second.cached
    assert _hits(first) == _hits(second)
    assert _hits(first)


def test_a_read_only_cache_folder_is_read(home: Path, rules: list[Rule]) -> None:
    expected = _hits(FieldMatcher(rules))
    folder = home / "cache" / "hyperscan"
    folder.chmod(0o555)
    try:
        loaded = FieldMatcher(rules)
        assert loaded.cached
        assert _hits(loaded) == expected
        assert not FieldMatcher(rules[:2]).cached  # a miss compiles; keeping it may fail
        assert not list(folder.glob(".*.tmp"))
    finally:
        folder.chmod(0o755)


def test_storing_where_nothing_can_be_written_says_so(tmp_path: Path,
                                                      rules: list[Rule]) -> None:
    db, cached = hscache.compiled([r.pattern.encode() for r in rules[:2]], [0, 1], [0, 0], None)
    assert not cached
    assert not hscache.store(_unwritable(tmp_path) / "x.hsdb", b"k" * 32, db)
    assert hscache.load(_unwritable(tmp_path) / "x.hsdb", b"k" * 32) is None


def test_an_unreadable_configuration_means_no_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: list[Rule]) -> None:
    monkeypatch.setenv("RENKEI_HOME", str(tmp_path))
    monkeypatch.setenv("RENKEI_LANG", "xx")  # the configuration refuses it
    assert hscache.folder() is None
    matcher = FieldMatcher(rules[:3])
    assert not matcher.cached
    assert matcher.engine == "hyperscan"
    assert not (tmp_path / "cache").exists()
