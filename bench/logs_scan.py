"""Benchmark: renkei's log scan against a plain-Python baseline and grep, in one run.

    python bench/logs_scan.py [--lines 2000000] [--baseline-lines 100000] [--file PATH]

Generates a combined-format log with mixed benign and attack traffic (renkei.logs.synth, with
--attack-ratio attack lines plus as many carrying an entry of ../shared/data/web-payloads
when that folder is present), pins the
process to one core, and prints lines/s for:
  * renkei: parse + normalise + all bundled rules + aggregates + success judgement;
  * baseline: the same rules applied line by line with ``re`` after a regex parse and the
    reference normaliser (measured on the first --baseline-lines lines);
  * grep -cE over the same file, a floor no analyser can beat.
Peak memory is measured in child processes at two file sizes to show it does not grow, and
the first scan of a fresh process (as each ``renkei serve`` worker makes) is timed with the
compiled rules' disk cache empty and filled (``--first-scan-only``: just that).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "web-payloads"
CLF = re.compile(rb'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (.*?) (\S+)" (\d{3}) (\d+|-)(?: "(.*?)" "(.*?)")?')


def one_core() -> None:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def shared_payloads(limit: int = 5000) -> list[str]:
    if not SHARED.is_dir():
        print(f"note: {SHARED} not present; using renkei's own synthetic attacks only")
        return []
    payloads: list[str] = []
    for path in sorted(SHARED.rglob("*.txt")):
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if raw.strip() and len(raw) < 300:
                payloads.append(raw)
    print(f"using {len(payloads)} payloads from {SHARED}")
    return payloads[:limit]


def make_log(path: Path, lines: int, attack_ratio: float) -> None:
    from renkei.logs.synth import generate

    payloads = shared_payloads()
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        for index, line in enumerate(generate(lines, seed=1, attack_ratio=attack_ratio)):
            if payloads and index % int(1 / attack_ratio) == 0:
                payload = quote(payloads[index % len(payloads)], safe="")
                line = line.replace('"GET / HTTP', f'"GET /search?q={payload} HTTP', 1)
            out.write(line)
    print(f"generated {lines:,} lines ({path.stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")


def run_renkei(path: Path) -> tuple[float, int, int]:
    from renkei.logs.scan import LogScanner

    scanner = LogScanner()
    warm = path.with_suffix(".warm.log")
    with path.open("rb") as src, warm.open("wb") as dst:
        dst.write(src.read(200_000).rsplit(b"\n", 1)[0] + b"\n")
    scanner.scan_file(warm)  # load the numba kernels before timing
    warm.unlink()
    started = time.perf_counter()
    result = scanner.scan_file(path)
    return time.perf_counter() - started, result.summary.lines, len(result.findings)


def run_baseline(path: Path, limit: int) -> tuple[float, int, int]:
    from renkei.logs.normalise import normalise
    from renkei.logs.rules import load_rules

    rules = load_rules()
    by_field = {f: [r.compiled for r in rules if f in r.fields] for f in ("target", "referer", "ua")}
    findings = 0
    lines = 0
    started = time.perf_counter()
    with path.open("rb") as fh:
        for raw in fh:
            lines += 1
            if lines > limit:
                lines -= 1
                break
            m = CLF.match(raw)
            if not m:
                continue
            fields = {"target": m.group(4), "referer": m.group(8) or b"", "ua": m.group(9) or b""}
            for name, patterns in by_field.items():
                value = fields[name]
                if name != "target" and value == b"-":
                    continue
                text = normalise(value)
                findings += sum(1 for p in patterns if p.search(text))
    return time.perf_counter() - started, lines, findings


def run_grep(path: Path) -> float:
    pattern = r"union.{0,20}select|<script|\.\./|etc/passwd|jndi:|\(\) \{|sqlmap|nikto|\.env"
    started = time.perf_counter()
    subprocess.run(["grep", "-ciE", pattern, str(path)], check=False, capture_output=True)
    return time.perf_counter() - started


def peak_memory(path: Path) -> int:
    code = ("import sys; from pathlib import Path; from renkei.logs.scan import LogScanner;"
            "LogScanner().scan_file(Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


FIRST_SCAN = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from renkei.logs.scan import LogScanner
scanner = LogScanner()
cached = all(m.cached for m in scanner.engine.matchers.values())
scanner.scan_file(Path(sys.argv[1]))
print(time.perf_counter() - started, cached)
"""


def first_scan(sample: Path, home: Path) -> tuple[float, bool]:
    """Seconds from a fresh process's import of the scanner to the end of its first scan
    (rules compiled or loaded, numba kernels loaded from their cache), with ``home`` as
    RENKEI_HOME; and whether the rules came from the cache."""
    env = {**os.environ, "RENKEI_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", FIRST_SCAN, str(sample)], env=env,
                          check=True, capture_output=True, text=True)
    seconds, cached = done.stdout.split()
    return float(seconds), cached == "True"


def run_first_scans(out: Path, runs: int = 3) -> None:
    from renkei.logs.synth import generate

    sample = out / "first-scan.log"
    sample.write_text("".join(generate(200, seed=1, attack_ratio=0.2)), encoding="utf-8")
    first_scan(sample, out / "first-scan-home")  # numba's own kernel cache, filled once
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=out) as home:
            seconds, cached = first_scan(sample, Path(home))
            assert not cached
            cold.append(seconds)
            seconds, cached = first_scan(sample, Path(home))
            assert cached
            warm.append(seconds)
    print(f"first scan of a fresh process (200 lines, median of {runs}): "
          f"rules compiled {statistics.median(cold):.2f} s, "
          f"from the cache {statistics.median(warm):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--baseline-lines", type=int, default=100_000)
    parser.add_argument("--file", type=Path, help="scan this log instead of generating one")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--attack-ratio", type=float, default=0.03,
                        help="share of attack lines (plus as many lines with a payload list entry)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--first-scan-only", action="store_true",
                        help="only time a fresh process's first scan, cold and from the cache")
    args = parser.parse_args()
    one_core()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.first_scan_only:
        run_first_scans(args.out)
        return
    path = args.file or args.out / f"access-{args.lines}-{args.attack_ratio}.log"
    if args.file is None and not path.exists():
        make_log(path, args.lines, args.attack_ratio)
    size_mb = path.stat().st_size / 1e6

    seconds, lines, found = run_renkei(path)
    b_seconds, b_lines, b_found = run_baseline(path, args.baseline_lines)
    g_seconds = run_grep(path)
    renkei_rate = lines / seconds
    base_rate = b_lines / b_seconds
    print(f"\nfile: {path} ({lines:,} lines, {size_mb:.0f} MB), one core, {os.cpu_count()} cores on machine")
    print(f"{'engine':<34}{'lines/s':>14}{'MB/s':>10}{'seconds':>10}  findings")
    print(f"{'renkei (parse+normalise+rules)':<34}{renkei_rate:>14,.0f}{size_mb / seconds:>10.1f}{seconds:>10.2f}  {found:,}")
    print(f"{'plain Python re (baseline)':<34}{base_rate:>14,.0f}{'':>10}{b_seconds:>10.2f}  {b_found:,} in {b_lines:,} lines")
    print(f"{'grep -ciE (floor)':<34}{lines / g_seconds:>14,.0f}{size_mb / g_seconds:>10.1f}{g_seconds:>10.2f}")
    print(f"speed-up over baseline: {renkei_rate / base_rate:.1f}x; "
          f"findings per 100 lines: {100 * found / lines:.1f}")
    if not args.skip_memory and args.file is None:
        half = args.out / f"access-{args.lines // 2}-{args.attack_ratio}.log"
        if not half.exists():
            with path.open("rb") as src, half.open("wb") as dst:
                for index, raw in enumerate(src):
                    if index >= args.lines // 2:
                        break
                    dst.write(raw)
        small = peak_memory(half)
        large = peak_memory(path)
        print(f"peak RSS: {small} MiB for {args.lines // 2:,} lines, {large} MiB for {args.lines:,} lines")
    run_first_scans(args.out)


if __name__ == "__main__":
    main()
