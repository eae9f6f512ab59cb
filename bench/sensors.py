"""Benchmark: renkei's sensor pipeline against the same analysis fed by dpkt, and a file read.

    python bench/sensors.py [--packets 20000000] [--capture PATH] [--dpkt-packets 1000000]

Generates (once, cached in the temp directory) a pcap of mixed darknet traffic over three
days (``sensor_traffic``: ZMap/Masscan/Mirai-like and plain scanners over a /16, UDP probes,
SYN-ACK/RST/ICMP-error backscatter from DoS victims, noise, a few % IPv6), pins itself to
one core and prints, in one run:

  * renkei: ``analyse_captures`` on the file — read + classify + events + series + findings
    (scanners, backscatter, rises; every finding made, as ``analyse --json`` does), best of
    ``--runs`` after warming the numba kernels;
  * renkei's reader alone (``iter_packets``), for where the time goes;
  * dpkt: the same pipeline with dpkt as the reader (a Python loop parsing each packet into
    the PACKET fields, 2^18 rows per array, then the same ``Pipeline``), timed on the
    first ``--dpkt-packets`` packets and scaled to packets/s;
  * the floor: ``tcpdump -r FILE -w /dev/null`` when installed, else reading the file's
    bytes into a null sink (page cache warm);
  * peak RSS (VmHWM) of the pipeline in a fresh process on the first 5 M, on the last 5 M
    (the busiest hours: memory follows the traffic's open events, not the capture's
    length) and on all packets.

The real captures of ../shared/data/pcaps, when present, are analysed one by one.

``--stages`` prints instead where the CPU time of ``analyse_captures`` goes, stage by stage
(``time.process_time``, each stage without the stages it calls), best of ``--runs``: CPU
seconds, unlike wall time, stay comparable on a busy host. With ``--against SRC`` it runs
another checkout's ``src`` (a ``git worktree`` of an older commit) and this one
alternately, each in a fresh process, ``--rounds`` times, and prints the medians side by
side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import numpy as np
from host import machine, yardstick
from rich.console import Console
from rich.table import Table
from sensor_traffic import RECORD, write_capture

HERE = Path(__file__).resolve().parent
PCAPS = HERE.parent.parent / "shared" / "data" / "pcaps"
GENERATOR_VERSION = 1
console = Console(width=120)


def one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return f"pinned to CPU {min(os.sched_getaffinity(0))}"
    return "not pinned (no sched_setaffinity here)"


def capture(args: argparse.Namespace) -> Path:
    if args.capture is not None:
        return Path(args.capture)
    folder = Path(tempfile.gettempdir()) / "renkei-bench-sensors"
    folder.mkdir(exist_ok=True)
    path = folder / f"darknet-{args.packets}-v{GENERATOR_VERSION}.pcap"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".part")
        write_capture(partial, args.packets)
        partial.rename(path)
        print(f"generated {args.packets:,} packets ({path.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - started:.1f} s: {path}")
    else:
        print(f"reusing {path}")
    return path


def prefix(path: Path, packets: int) -> Path:
    """The first ``packets`` records of a generated capture (fixed-size records)."""
    out = path.with_name(f"{path.stem}-first{packets}.pcap")
    if not out.exists():
        with path.open("rb") as src, out.open("wb") as dst:
            dst.write(src.read(24 + packets * RECORD))
    return out


def suffix(path: Path, packets: int) -> Path:
    """The last ``packets`` records of a generated capture, behind its file header."""
    out = path.with_name(f"{path.stem}-last{packets}.pcap")
    if not out.exists():
        total = (path.stat().st_size - 24) // RECORD
        with path.open("rb") as src, out.open("wb") as dst:
            dst.write(src.read(24))
            src.seek(24 + max(total - packets, 0) * RECORD)
            shutil.copyfileobj(src, dst, 1 << 24)
    return out


# -- renkei ---------------------------------------------------------------------------


def run_renkei(path: Path, runs: int) -> tuple[float, int, Counter[str]]:
    from renkei.sensors.pipeline import Capture, analyse_captures

    analyse_captures([Capture(prefix(path, 100_000))])   # load the kernels
    best = float("inf")
    result = None
    kinds: Counter[str] = Counter()
    for _ in range(runs):
        started = time.perf_counter()
        result = analyse_captures([Capture(path)])
        # the findings are made when read (as ``analyse --json`` writes them): time that too
        kinds = Counter(str(f.kind) for f in result.findings)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result.packets, kinds


def run_reader(path: Path) -> tuple[float, int]:
    from renkei.sensors.read import iter_packets

    started = time.perf_counter()
    rows = sum(len(batch) for batch in iter_packets(path))
    return time.perf_counter() - started, rows


# -- CPU per stage ------------------------------------------------------------------

STAGES = ("read", "events", "sweep", "rebuild", "closed", "choose", "series", "rises",
          "findings", "other")


class _StageClock:
    """CPU seconds per stage, each without the stages it calls (a stack of stages)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[str] = []
        self._mark = 0.0

    def enter(self, stage: str) -> None:
        self._charge(time.process_time())
        self._stack.append(stage)

    def leave(self) -> None:
        self._charge(time.process_time())
        self._stack.pop()

    def _charge(self, now: float) -> None:
        if self._stack:
            top = self._stack[-1]
            self.seconds[top] = self.seconds.get(top, 0.0) + now - self._mark
        self._mark = now

    def wrap(self, owner: object, name: str, stage: str) -> None:
        """Charge calls of ``owner.name`` to ``stage`` (names missing in an older checkout
        are left alone)."""
        function = getattr(owner, name, None)
        if function is None:
            return

        def timed(*args: object, **kwargs: object) -> object:
            self.enter(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        setattr(owner, name, timed)


def run_stages(path: Path, runs: int) -> tuple[dict[str, float], int, int]:
    """The best of ``runs`` (by total CPU): seconds per stage, packets, findings."""
    from renkei.sensors import lazy_findings, open_events, pipeline, read, series

    clock = _StageClock()
    for owner, names, stage in (
            (read.PacketStream, ("__next__",), "read"),
            (open_events.OpenEvents, ("add", "close"), "events"),
            (open_events.OpenEvents, ("_sweep",), "sweep"),
            (open_events.OpenEvents, ("_rebuild_sets",), "rebuild"),
            (open_events.OpenEvents, ("_closed",), "closed"),
            (pipeline.Pipeline, ("_take",), "choose"),
            (series.SeriesAccumulator, ("add_counts", "complete", "counts"), "series"),
            (pipeline, ("rises", "rise_findings", "campaigns", "campaign_findings"), "rises"),
            (lazy_findings.LazyFindings, ("_made",), "findings")):
        for name in names:
            clock.wrap(owner, name, stage)
    warm = pipeline.analyse_captures([pipeline.Capture(prefix(path, 100_000))])
    sum(1 for _ in warm.findings)
    best: dict[str, float] = {}
    packets = made = 0
    for _ in range(runs):
        clock.seconds = {}
        started = time.process_time()
        clock.enter("other")
        result = pipeline.analyse_captures([pipeline.Capture(path)])
        made = sum(1 for _ in result.findings)     # as ``analyse --json`` makes them
        clock.leave()
        clock.seconds["total"] = time.process_time() - started
        if clock.seconds["total"] < best.get("total", float("inf")):
            best, packets = dict(clock.seconds), result.packets
    return best, packets, made


def print_stages(path: Path, runs: int) -> None:
    import renkei.sensors

    seconds, packets, made = run_stages(path, runs)
    print(f"CPU seconds per stage, best of {runs}, code in "
          f"{Path(renkei.sensors.__file__).parent}:")
    table = Table()
    for column in ("stage", "CPU s", "share"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in (*STAGES, "total"):
        value = seconds.get(stage, 0.0)
        table.add_row(stage, f"{value:.3f}", f"{value / seconds['total']:.0%}")
    console.print(table)
    print(f"{packets:,} packets, {made:,} findings: {packets / seconds['total']:,.0f} packets "
          f"per CPU-second; load average {os.getloadavg()[0]:.2f}")


def compare_stages(path: Path, other: Path, runs: int, rounds: int) -> None:
    """This checkout's stages against another's (``other`` is its ``src``), each run in a
    fresh process, alternating, ``rounds`` times: the median of each side per stage."""
    sides = {"this": HERE.parent / "src", "other": other}
    found: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, src in sides.items():
            done = subprocess.run(
                [sys.executable, __file__, "--capture", str(path), "--runs", str(runs),
                 "--stages-json"], check=True, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(src)})
            found[side].append(json.loads(done.stdout.splitlines()[-1]))
            print(f"{side}: {found[side][-1]['total']:.3f} CPU s (load average "
                  f"{os.getloadavg()[0]:.2f})")
    print(f"CPU seconds per stage, median of {rounds} processes (best of {runs} runs each); "
          f"this = {sides['this']}, other = {other}:")
    table = Table()
    for column in ("stage", "other", "this", "change"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage in (*STAGES, "total"):
        before = statistics.median(r.get(stage, 0.0) for r in found["other"])
        after = statistics.median(r.get(stage, 0.0) for r in found["this"])
        change = f"{after / before - 1:+.0%}" if before else "-"
        table.add_row(stage, f"{before:.3f}", f"{after:.3f}", change)
    console.print(table)
    for side in ("other", "this"):
        total = statistics.median(r["total"] for r in found[side])
        packets, made = found[side][0]["packets"], found[side][0]["made"]
        print(f"{side}: {packets:,} packets, {made:,} findings, {packets / total:,.0f} packets "
              f"per CPU-second")


# -- dpkt -----------------------------------------------------------------------------


def _address(raw: bytes) -> tuple[int, int]:
    if len(raw) == 4:
        return 0, 0xFFFF_0000_0000 | int.from_bytes(raw, "big")
    value = int.from_bytes(raw, "big")
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def dpkt_batches(path: Path, limit: int, batch: int = 1 << 18):  # type: ignore[no-untyped-def]
    """PACKET arrays parsed by dpkt, a plain Python loop per packet."""
    import dpkt

    from renkei.sensors.model import PACKET

    names = [n for n in PACKET.names if n != "sensor"]
    columns: dict[str, list[int]] = {n: [] for n in names}
    append = {n: columns[n].append for n in names}

    def flush() -> np.ndarray:
        out = np.zeros(len(columns["ts"]), PACKET)
        for name in names:
            out[name] = columns[name]
            columns[name].clear()
        return out

    with path.open("rb") as handle:
        for index, (ts, frame) in enumerate(dpkt.pcap.Reader(handle)):
            if index >= limit:
                break
            ip = dpkt.ethernet.Ethernet(frame).data
            fields = dict.fromkeys(names, 0)
            if isinstance(ip, dpkt.ip.IP):
                fields["version"], fields["ip_id"], fields["ttl"] = 4, ip.id, ip.ttl
                fields["length"] = ip.len
                if ip.off & 0x3FFF:
                    fields["frag"] = 1 | (2 if ip.off & 0x1FFF else 0)
            elif isinstance(ip, dpkt.ip6.IP6):
                fields["version"], fields["ttl"], fields["length"] = 6, ip.hlim, ip.plen + 40
            else:
                continue
            fields["src_hi"], fields["src_lo"] = _address(ip.src)
            fields["dst_hi"], fields["dst_lo"] = _address(ip.dst)
            fields["ts"] = round(ts * 1_000_000) * 1000
            fields["proto"] = ip.p if fields["version"] == 4 else ip.nxt
            fields["count"] = 1
            l4 = ip.data
            if isinstance(l4, dpkt.tcp.TCP):
                fields.update(sport=l4.sport, dport=l4.dport, seq=l4.seq, ack=l4.ack,
                              tcp_flags=l4.flags)
            elif isinstance(l4, dpkt.udp.UDP):
                fields.update(sport=l4.sport, dport=l4.dport)
            elif isinstance(l4, dpkt.icmp.ICMP):
                fields.update(icmp_type=l4.type, icmp_code=l4.code)
                quoted = getattr(l4.data, "data", None)
                if l4.type in (3, 4, 5, 11, 12) and isinstance(quoted, dpkt.ip.IP):
                    fields["inner_proto"] = quoted.p
                    inner = quoted.data
                    if isinstance(inner, bytes) and len(inner) >= 4:
                        fields["inner_sport"] = int.from_bytes(inner[:2], "big")
                        fields["inner_dport"] = int.from_bytes(inner[2:4], "big")
                    elif hasattr(inner, "sport"):
                        fields["inner_sport"], fields["inner_dport"] = inner.sport, inner.dport
            for name in names:
                append[name](fields[name])
            if len(columns["ts"]) >= batch:
                yield flush()
    if columns["ts"]:
        yield flush()


def run_dpkt(path: Path, limit: int) -> tuple[float, int]:
    from renkei.sensors.pipeline import Pipeline

    started = time.perf_counter()
    pipeline = Pipeline()
    for batch in dpkt_batches(path, limit):
        pipeline.add(batch, 0)
    pipeline.finish()
    return time.perf_counter() - started, pipeline.packets


# -- floor and memory ---------------------------------------------------------------


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


def run_floor(path: Path) -> tuple[float, str]:
    tcpdump = shutil.which("tcpdump")
    started = time.perf_counter()
    if tcpdump:
        subprocess.run([tcpdump, "-r", str(path), "-w", "/dev/null"], check=True,
                       capture_output=True)
        return time.perf_counter() - started, "tcpdump -r FILE -w /dev/null"
    with path.open("rb") as handle:
        shutil.copyfileobj(handle, _Null(), 1 << 20)  # type: ignore[misc]
    return time.perf_counter() - started, "plain read of the file (tcpdump not installed)"


def peak_memory(path: Path) -> int:
    """Peak RSS in MiB of the pipeline over ``path`` in a fresh process."""
    # VmHWM, not getrusage: Linux carries ru_maxrss over fork and exec, so a child would
    # report at least this (large) process's peak
    # every finding is made and dropped, as ``analyse --json`` writes them out
    code = ("import sys; from pathlib import Path;"
            "from renkei.sensors.pipeline import Capture, analyse_captures;"
            "result = analyse_captures([Capture(Path(sys.argv[1]))]);"
            "made = sum(1 for finding in result.findings);"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    done = subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                          capture_output=True, text=True)
    return int(done.stdout.split()[-1]) // 1024


# -- real captures ------------------------------------------------------------------


def real_captures() -> None:
    from renkei.sensors.pipeline import Capture, analyse_captures

    if not PCAPS.is_dir():
        print(f"\nno real captures: {PCAPS} is not present")
        return
    table = Table(title=f"real captures in {PCAPS}")
    for column in ("file", "packets", "seconds", "scanner", "backscatter", "rise", "problems"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for path in sorted(PCAPS.iterdir()):
        if not path.is_file():
            continue
        started = time.perf_counter()
        try:
            result = analyse_captures([Capture(path)])
        except ValueError as error:
            table.add_row(path.name, "-", "-", "-", "-", "-", str(error)[:40])
            continue
        kinds = Counter(str(f.kind) for f in result.findings)
        table.add_row(path.name, f"{result.packets:,}", f"{time.perf_counter() - started:.2f}",
                      str(kinds["scanner"]), str(kinds["backscatter"]), str(kinds["rise"]),
                      str(sum(len(s.problems) for s in result.stats)))
    console.print(table)


# -- main ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=20_000_000)
    parser.add_argument("--capture", type=Path, help="use this pcap instead of generating one")
    parser.add_argument("--dpkt-packets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="renkei runs (the best is shown)")
    parser.add_argument("--memory-packets", type=int, default=5_000_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--stages", action="store_true",
                        help="only the CPU seconds per stage of the pipeline (see above)")
    parser.add_argument("--against", type=Path, metavar="SRC",
                        help="with --stages: also another checkout's src, alternating")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --against: processes per side (the median is shown)")
    parser.add_argument("--stages-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages_json:
        seconds, packets, made = run_stages(capture(args), args.runs)
        print(json.dumps({**seconds, "packets": packets, "made": made}))
        return

    pinned = one_core()
    print(f"machine: {machine()}")
    print(f"yardstick: {yardstick():.1f} M pure-Python loop steps/s; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {pinned}")
    path = capture(args)
    if args.stages and args.against is not None:
        compare_stages(path, args.against, args.runs, args.rounds)
        return
    if args.stages:
        print_stages(path, args.runs)
        return
    size_mb = path.stat().st_size / 1e6

    seconds, packets, kinds = run_renkei(path, args.runs)
    read_seconds, _ = run_reader(path)
    dpkt_seconds, dpkt_packets = run_dpkt(path, args.dpkt_packets)
    floor_seconds, floor_name = run_floor(path)

    rate = packets / seconds
    dpkt_rate = dpkt_packets / dpkt_seconds
    table = Table(title=f"{path.name}: {packets:,} packets, {size_mb:,.0f} MB, one core")
    for column in ("pipeline", "packets/s", "MB/s", "seconds", "× dpkt"):
        table.add_column(column, justify="left" if column == "pipeline" else "right")
    table.add_row("renkei: read + classify + events + series + findings", f"{rate:,.0f}",
                  f"{size_mb / seconds:,.0f}", f"{seconds:.2f}", f"{rate / dpkt_rate:,.1f}")
    table.add_row("renkei: read only (iter_packets)", f"{packets / read_seconds:,.0f}",
                  f"{size_mb / read_seconds:,.0f}", f"{read_seconds:.2f}",
                  f"{packets / read_seconds / dpkt_rate:,.1f}")
    table.add_row(f"dpkt reader + the same analysis (first {dpkt_packets:,} packets, scaled)",
                  f"{dpkt_rate:,.0f}", f"{dpkt_rate * RECORD / 1e6:,.0f}",
                  f"{packets / dpkt_rate:.1f} (est.)", "1.0")
    table.add_row(f"floor: {floor_name}", f"{packets / floor_seconds:,.0f}",
                  f"{size_mb / floor_seconds:,.0f}", f"{floor_seconds:.2f}",
                  f"{packets / floor_seconds / dpkt_rate:,.1f}")
    console.print(table)
    print("findings: " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items())))

    goals = [("≥ 3,000,000 packets/s on one core", rate >= 3_000_000, f"{rate:,.0f}"),
             ("≥ 20× the dpkt pipeline", rate >= 20 * dpkt_rate, f"{rate / dpkt_rate:,.1f}×")]
    if not args.skip_memory:
        small_packets = min(args.memory_packets, packets)
        small = peak_memory(prefix(path, small_packets) if small_packets < packets else path)
        last = peak_memory(suffix(path, small_packets) if small_packets < packets else path)
        large = peak_memory(path)
        print(f"peak RSS (fresh process): {small} MiB for the first {small_packets:,} packets, "
              f"{last} MiB for the last {small_packets:,}, {large} MiB for all {packets:,}")
        goals.append(("peak memory does not grow with the capture (within 15 %)",
                      large <= 1.15 * small, f"{small} → {large} MiB"))
    for goal, met, value in goals:
        print(f"  {'met    ' if met else 'NOT met'}  {goal}: {value}")
    real_captures()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"this process: {usage.ru_utime + usage.ru_stime:.0f} s CPU, "
          f"peak RSS {usage.ru_maxrss // 1024} MiB")


if __name__ == "__main__":
    main()
