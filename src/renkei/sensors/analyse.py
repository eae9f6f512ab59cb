"""Scanners and DoS backscatter from events: vectorised tests, then few findings.

Sensors differ in size (a /24 at a university, a /16 at a national centre), so a scanner
is judged by the share of the sensor it touched: an event is a scan when its unique
destinations reach ``max(scan_min_dsts, scan_fraction × sensor addresses)``. Fewer than ten
addresses is indistinguishable from a misconfigured host; a tenth of a percent of a /16 is
66 addresses. IPv6 events, and sensors of unknown size, use ``scan_min_dsts`` alone.

Backscatter is attributed to its victim, the packet's source: a SYN-ACK or RST comes from
the attacked service (its source port is the service), an ICMP error from the host or a
router on the path to it (the quoted packet's destination port is the service; the
quoted destination address is not in the record, so the ICMP source stands for the victim).
A victim answering spoofed packets answers uniformly random addresses, so a darknet of
*A* IPv4 addresses sees a share *A* / 2³² of the replies; the attack rate is estimated as
the observed rate × 2³² / *A* (Moore, Shannon, Brown, Voelker and Savage, "Inferring
Internet denial-of-service activity", ACM TOCS 24(2), 2006). The observed rate is packets
over the event's span, the span taken as at least ``min_duration_s`` (one flow record has no
span); it is per sensor, scaled by that sensor's size.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renkei.sensors.classify import classify, fingerprints
from renkei.sensors.columns import Packets, as_columns
from renkei.sensors.events import FIELDS, NS, Events, group_events
from renkei.sensors.findings import (
    BACKSCATTER,
    PROBES,
    PROTOCOL_NAMES,
    Finding,
    FindingKind,
    Fingerprint,
    PacketClass,
    SensorSizes,
    addresses,
    utcs,
)
from renkei.sensors.model import Proto
from renkei.sensors.research import ResearchScanners

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
IPV4_SPACE = float(1 << 32)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When an event is a scan or a DoS victim's backscatter (see the module text)."""

    idle_timeout_s: float = 600.0
    scan_min_dsts: int = 10
    scan_fraction: float = 0.001
    backscatter_min_packets: int = 10
    backscatter_min_dsts: int = 2
    min_duration_s: float = 1.0


def _in(classes: np.ndarray, wanted: frozenset[PacketClass]) -> Bools:
    table = np.zeros(256, dtype=bool)
    table[[int(c) for c in wanted]] = True
    chosen: Bools = table[classes]
    return chosen


def sensor_sizes(events: Events, sizes: SensorSizes | None) -> Floats:
    """Per event: its sensor's IPv4 size, NaN when unknown (IPv6 events, missing entries)."""
    out = np.full(len(events), np.nan)
    if sizes is None or not len(events):
        return out
    table = np.asarray(sizes, dtype=np.float64)
    sensor = events.sensor.astype(np.intp)
    known = (sensor < len(table)) & (events.version == 4)
    out[known] = table[sensor[known]]
    out[out <= 0] = np.nan
    return out


def observed_rates(events: Events, min_duration_s: float = 1.0) -> Floats:
    """Packets per second at the sensor over each event's span."""
    span = (events.last - events.first).astype(np.float64) / NS
    return events.packets.astype(np.float64) / np.maximum(span, min_duration_s)


def estimated_rates(events: Events, sizes: SensorSizes | None,
                    min_duration_s: float = 1.0) -> Floats:
    """Attack rate at the victim: observed rate × 2³² / sensor addresses (NaN when unknown)."""
    return observed_rates(events, min_duration_s) * IPV4_SPACE / sensor_sizes(events, sizes)


def scanner_mask(events: Events, sizes: SensorSizes | None = None,
                 thresholds: Thresholds = Thresholds()) -> Bools:
    size = sensor_sizes(events, sizes)
    needed = np.fmax(thresholds.scan_min_dsts, thresholds.scan_fraction * size)
    return _in(events.cls, PROBES) & (events.unique_dsts >= needed)


def backscatter_mask(events: Events, thresholds: Thresholds = Thresholds()) -> Bools:
    return (_in(events.cls, BACKSCATTER)
            & (events.packets >= thresholds.backscatter_min_packets)
            & (events.unique_dsts >= thresholds.backscatter_min_dsts))


_TRANSPORT = np.zeros(256, dtype=bool)
_TRANSPORT[[int(Proto.TCP), int(Proto.UDP)]] = True
_FINGERPRINTS = [Fingerprint.names(bits) for bits in range(256)]


def _findings(kind: FindingKind, events: Events, rates: Floats) -> list[Finding]:
    """One finding per event, built column by column: times, addresses and labels are made
    in bulk (addresses once per source), so the loop only assembles the objects."""
    if not len(events):
        return []
    cls = events.cls.astype(np.intp)
    labels = [PacketClass(c).label for c in range(int(cls.max()) + 1)]    # ValueError if unknown
    proto = events.proto.astype(np.intp)
    ports = np.where(_TRANSPORT[proto], events.port.astype(np.int64), -1).tolist()
    return [Finding(kind, first, last, PROTOCOL_NAMES[p], [] if port < 0 else [port], src,
                    sensor, [], labels[c], list(_FINGERPRINTS[bits]), [], packets, size, dsts,
                    0, rate)
            for first, last, p, port, src, sensor, c, bits, packets, size, dsts, rate in zip(
                utcs(events.first), utcs(events.last), proto.tolist(), ports,
                addresses(events.src_hi, events.src_lo), events.sensor.tolist(), cls.tolist(),
                events.fingerprints.tolist(), events.packets.tolist(), events.bytes.tolist(),
                events.unique_dsts.tolist(), rates.tolist(), strict=True)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Findings are many small objects, none in a cycle: left on, the cyclic collector
    would start dozens of times while they are made, each time over the whole heap."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_scanners(events: Events, sizes: SensorSizes | None = None,
                  thresholds: Thresholds = Thresholds(),
                  research: ResearchScanners | None = None) -> list[Finding]:
    """Scanner findings; known research scanners carry their names in ``labels``."""
    return scanner_findings(events.take(scanner_mask(events, sizes, thresholds)), thresholds,
                            research)


def scanner_findings(chosen: Events, thresholds: Thresholds = Thresholds(),
                     research: ResearchScanners | None = None) -> list[Finding]:
    """``find_scanners`` of events already chosen by ``scanner_mask``."""
    with _collector_paused():
        findings = _findings(FindingKind.SCANNER, chosen,
                             observed_rates(chosen, thresholds.min_duration_s))
        if research is not None:
            owners = research.lookup(chosen.src_hi, chosen.src_lo).tolist()
            for finding, owner in zip(findings, owners, strict=True):
                finding.labels = list(research.labels[owner]) if owner >= 0 else []
    return findings


def find_backscatter(events: Events, sizes: SensorSizes | None = None,
                     thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """DoS victims seen through their replies, with the estimated attack rate."""
    return backscatter_findings(events.take(backscatter_mask(events, thresholds)), sizes,
                                thresholds)


def backscatter_findings(chosen: Events, sizes: SensorSizes | None = None,
                         thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """``find_backscatter`` of events already chosen by ``backscatter_mask``."""
    rates = observed_rates(chosen, thresholds.min_duration_s)
    estimates = rates * IPV4_SPACE / sensor_sizes(chosen, sizes)
    with _collector_paused():
        findings = _findings(FindingKind.BACKSCATTER, chosen, rates)
        for finding, estimate in zip(findings, estimates.tolist(), strict=True):
            finding.estimated_pps = None if np.isnan(estimate) else estimate
    return findings


def analyse(packets: Packets, sizes: SensorSizes | None = None,
            thresholds: Thresholds = Thresholds(),
            research: ResearchScanners | None = None) -> list[Finding]:
    """Scanner and backscatter findings of one batch of ``PACKET`` records."""
    packets = as_columns(packets, FIELDS)
    events = group_events(packets, classify(packets), fingerprints(packets),
                          idle_timeout_s=thresholds.idle_timeout_s)
    return [*find_scanners(events, sizes, thresholds, research),
            *find_backscatter(events, sizes, thresholds)]
