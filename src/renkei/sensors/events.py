"""Events: packets of one source to one service of one sensor, split where it fell silent.

An event is keyed by (sensor, source, service protocol, service port, packet class) and
ends when the key stays silent for longer than the idle timeout (10 minutes by default:
long enough to bridge a slow scanner's gaps at a small sensor, short enough to separate
daily re-scans). Keys are per sensor so that thresholds can scale with each sensor's
size; one Internet-wide scan seen at three sensors is three events.

The grouping is one stable sort by key (``grouping.group``, a packed radix sort) and a
few ``ufunc.reduceat`` calls, with no Python loop over packets or events. Input in time
order (what readers produce) needs no time pass; otherwise rows are put in time order first.

Batches are independent: an event cut by a batch boundary is reported as two. Callers feed
whole time windows (an hour, a day); merging across batches is left to the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renkei.sensors.classify import classify, fingerprints, service
from renkei.sensors.columns import Packets, as_columns
from renkei.sensors.findings import Fingerprint
from renkei.sensors.grouping import distinct_per_group, group, time_order
from renkei.sensors.model import IPV4_MAPPED

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
IntP = npt.NDArray[np.intp]
NS = 1_000_000_000
#: The record fields the analysers read (what ``Columns`` should hold).
FIELDS = ("ts", "src_hi", "src_lo", "dst_hi", "dst_lo", "version", "proto", "sport", "dport",
          "tcp_flags", "seq", "ip_id", "frag", "icmp_type", "inner_proto", "inner_dport",
          "length", "count", "sensor")

_EMPTY = {"sensor": "u2", "src_hi": "u8", "src_lo": "u8", "version": "u1", "proto": "u1",
          "port": "u2", "cls": "u1", "first": "i8", "last": "i8", "packets": "u8",
          "bytes": "u8", "rows": "u8", "unique_dsts": "u8", "fingerprints": "u1"}


@dataclass(frozen=True, slots=True)
class Events:
    """One row per event, as columns. Sums weight flows by their ``count``."""

    sensor: U16
    src_hi: U64
    src_lo: U64
    version: U8
    proto: U8           # service protocol (an ICMP error's quoted protocol)
    port: U16           # service port (see classify.service)
    cls: U8             # PacketClass
    first: I64          # ns since the epoch
    last: I64
    packets: U64        # sum of count
    bytes: U64          # sum of length
    rows: U64           # records (packets, or flows)
    unique_dsts: U64
    fingerprints: U8    # Fingerprint bits carried by at least half of the event's packets

    def __len__(self) -> int:
        return len(self.first)

    def take(self, index: npt.NDArray[np.bool_] | IntP | slice) -> Events:
        """The events selected by a mask, an index array or a slice (a slice shares the arrays)."""
        return Events(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})

    @classmethod
    def empty(cls) -> Events:
        return cls(**{name: np.zeros(0, dtype) for name, dtype in _EMPTY.items()})


def group_events(packets: Packets, classes: U8 | None = None, flags: U8 | None = None, *,
                 idle_timeout_s: float = 600.0) -> Events:
    """The events of a batch, sorted by key then time.

    ``classes`` and ``flags`` are ``classify`` and ``fingerprints`` of the batch, computed
    here when not given. A gap longer than ``idle_timeout_s`` between two packets of one
    key starts a new event.
    """
    rows = len(packets)
    if rows == 0:
        return Events.empty()
    packets = as_columns(packets, FIELDS)
    classes = classify(packets) if classes is None else classes
    flags = fingerprints(packets) if flags is None else flags
    proto, port = service(packets, classes)
    ts = packets["ts"]
    grouping = group({"src_hi": packets["src_hi"], "src_lo": packets["src_lo"],
                      "sensor": packets["sensor"], "proto": proto, "port": port, "cls": classes},
                     rows, time_order(ts))
    order = grouping.order
    ts_sorted = ts[order]
    new = grouping.changes
    new[1:] |= np.diff(ts_sorted) > int(idle_timeout_s * NS)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], rows)
    key = grouping.keys(starts)

    count = packets["count"]
    weighted = int(count.min()) != 1 or int(count.max()) != 1
    counted = (np.add.reduceat(count[order], starts, dtype=np.uint64) if weighted
               else (ends - starts).astype(np.uint64))
    mapped = (key["src_hi"] == 0) & ((key["src_lo"] >> np.uint64(32)) == (IPV4_MAPPED >> np.uint64(32)))
    return Events(
        sensor=key["sensor"].astype(np.uint16),
        src_hi=key["src_hi"],
        src_lo=key["src_lo"],
        version=np.where(mapped, 4, 6).astype(np.uint8),
        proto=key["proto"].astype(np.uint8),
        port=key["port"].astype(np.uint16),
        cls=key["cls"].astype(np.uint8),
        first=np.minimum.reduceat(ts_sorted, starts),
        last=np.maximum.reduceat(ts_sorted, starts),
        packets=counted,
        bytes=np.add.reduceat(packets["length"][order], starts, dtype=np.uint64),
        rows=(ends - starts).astype(np.uint64),
        unique_dsts=distinct_per_group(starts, rows, [packets["dst_hi"], packets["dst_lo"]], order),
        fingerprints=_majority_flags(flags[order], count[order] if weighted else None, starts,
                                     counted),
    )


def _majority_flags(flags: U8, weights: npt.NDArray[np.uint32] | None, starts: IntP,
                    packets: U64) -> U8:
    """Per event, the flag bits that at least half of its packets carry.

    A plain OR would let one packet decide: a random SYN passes Masscan's 16-bit test once
    in 65,536, so every large event would end up "masscan". The tools mark every packet
    they send, so a real one carries its mark on (nearly) all of them.
    """
    out = np.zeros(len(starts), np.uint8)
    present = np.bitwise_or.reduceat(flags, starts)
    for flag in Fingerprint:
        if not (present & flag).any():
            continue
        marked = (flags & flag) != 0
        carried = np.add.reduceat(marked if weights is None else np.where(marked, weights, 0),
                                  starts, dtype=np.uint64)
        out[(carried > 0) & (2 * carried >= packets)] |= np.uint8(flag)
    return out
