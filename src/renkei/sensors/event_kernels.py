"""Numba kernels of the streaming events: open events in hash tables, one pass per batch.

``events.group_events`` sorts a batch by key; a stream cannot, since an event may span many
batches and files. Here each packet looks its key (sensor, source, service, class) up in a
hash table of *open* events and updates that event in place; a packet arriving more than
the idle timeout after its event's last one closes the event and opens the next. Unique
destinations are a second hash set of (event id, destination) pairs, so they stay exact
across batch and file boundaries. A batch is one pass over its ``PACKET`` records: no
per-field copies, no sort.

The tables outgrow the caches, so a packet's three random reads (key table, event slot,
destination set) would each wait for memory. Their places depend only on the packet (the
set is hashed by the event's key hash and the destination, not by the event id), so they
are computed ``AHEAD`` packets early and prefetched, and the misses of many packets overlap
(5.2 against 2.9 M packets/s for this kernel on the bench's capture). IPv4 destinations are
kept as bitmaps of 64-address blocks (below), which keeps that set mostly in cache.

Every kernel works on ``intrinsics.borrowed`` views of its arrays and reads and writes
a slot as ``slots[s, COLUMN]``, never through a row view ``slots[s]``: each view (and
each array handed to an inlined helper) costs numba two atomic reference-count updates,
and those locked instructions serialised the memory accesses that the prefetching
overlaps (the kernel took 0.72 s for the 4 M packets that now take 0.37 s).

State lives in caller-owned arrays (``open_events.OpenEvents``). A kernel returns early
when a table or an output buffer is about to fill; the caller grows or drains it and calls
again from there.

- ``slots`` (int64, ``NCOL`` columns): one row per open event; a free row has token 0.
- ``keys`` (uint64 × 2: key hash, slot + 1): linear probing, deletion by backward shift.
- ``dst4`` (uint64 × 2: id << 32 | IPv4 address >> 6, and a bitmap of that block's 64
  addresses) and ``dst6`` (uint64 × 3: id + 1, hi, lo): linear probing; entries of closed
  events stay until a set that is half full is purged (``purge``: emptied of them and
  counted in one pass) and rebuilt; when ids run short both are rebuilt and
  ``renumber_open`` renumbers the open events (id = slot). Sets are rebuilt one at a
  time, so at most one old set lives beside its new one. A scanner sweeping a /16 needs
  1,024 bitmap entries (16 KiB) instead of 65,536 addresses, so the set of a darknet's
  scanners mostly stays in cache; a one-packet event costs the same 16 bytes either way.
- ``state`` (int64): the counters ``ST_*``.

The series is fed from the same slots: each open event of a counted class keeps the bucket
it is counting and its packets there, and hands over a (bucket, sensor, protocol, port,
source, packets) row when the bucket changes and when it closes. So the series is complete
once every event is closed; until then the open events hold their current bucket's count.
Rows of one key from different classes or events are summed by the series' own merge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from renkei.sensors.intrinsics import borrowed
from renkei.sensors.intrinsics import prefetch as _prefetch

# slot columns
SRC_HI, SRC_LO, SMALL, FIRST, LAST, PACKETS, BYTES, ROWS, UNIQUE, ZMAP, MASSCAN, MIRAI, \
    TOKEN, SBUCKET, SPACKETS, KEYHASH = range(16)
NCOL = 16
# state counters
ST_OPEN, ST_HIGH, ST_FREE, ST_NEXT_ID, ST_D4, ST_D6, ST_EVENTS, ST_PAIRS = range(8)
STATE_SIZE = 8
# series rows
P_BUCKET, P_SENSOR, P_PROTO, P_PORT, P_SRC_HI, P_SRC_LO, P_PACKETS = range(7)
PCOL = 7

#: A rebuilt destination set holds this many times its live entries (it is rebuilt when
#: half full): 8 rather than 4 halves the rebuilds for 2× the memory of the sets.
GROWTH = 8
ID_LIMIT = (1 << 32) - 2
EMPTY4 = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
NO_BUCKET = np.int64(-(1 << 62))
AHEAD = 16                  # packets between a prefetch and its use
_RING = 32
_NOT_FIRST = 2
_DPORT, _SPORT, _INNER = 1, 2, 3
_FRAGMENT_CLASS = 7
_M1 = np.uint64(0xFF51_AFD7_ED55_8CCD)
_M2 = np.uint64(0xC4CE_B9FE_1A85_EC53)
_G = np.uint64(0x9E37_79B9_7F4A_7C15)
_LOW32 = np.uint64(0xFFFF_FFFF)
_MAPPED_TOP = np.uint64(0xFFFF)
_S32 = np.uint64(32)
_S33 = np.uint64(33)
_S6 = np.uint64(6)
_LOW6 = np.uint64(63)
_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, inline="always")
def _key_hash(hi: np.uint64, lo: np.uint64, small: np.uint64) -> np.uint64:
    return _mix(hi * _G + _mix(lo + _mix(small)))


@njit(cache=True, inline="always")
def _dst4_place(key_hash: np.uint64, dst: np.uint64) -> np.uint64:
    return _mix(key_hash ^ (dst * _G))


@njit(cache=True, inline="always")
def _dst6_place(key_hash: np.uint64, hi: np.uint64, lo: np.uint64) -> np.uint64:
    return _mix(key_hash ^ _mix(hi ^ _mix(lo)))


@njit(cache=True, inline="always")
def _is_v4(hi: np.uint64, lo: np.uint64) -> bool:
    return bool(hi == 0 and (lo >> _S32) == _MAPPED_TOP)


@njit(cache=True, inline="always")
def _service(p: Any, class_table: np.ndarray, port_source: np.ndarray) -> np.int64:
    """(sensor, service protocol, service port, class) packed as in the SMALL column."""
    proto = np.int64(p.proto)
    selector = np.int64(p.tcp_flags) if proto == 6 else np.int64(p.icmp_type)
    cls = np.int64(class_table[(proto << 8) | selector])
    if np.int64(p.frag) & _NOT_FIRST:
        cls = np.int64(_FRAGMENT_CLASS)
    source = port_source[cls]
    port = np.int64(0)
    if source == _DPORT:
        port = np.int64(p.dport)
    elif source == _SPORT:
        if proto == 6:
            port = np.int64(p.sport)
    elif source == _INNER:
        proto = np.int64(p.inner_proto)
        port = np.int64(p.inner_dport)
    return (np.int64(p.sensor) << 32) | (proto << 24) | (port << 8) | cls


@njit(cache=True)
def _key_find(slots: np.ndarray, keys: np.ndarray, h: np.uint64, hi: np.int64, lo: np.int64,
              small: np.int64) -> np.int64:
    """Table position of the key, or ``-1 - position`` of the empty entry where it would go."""
    mask = np.uint64(len(keys) - 1)
    i = h & mask
    while True:
        entry = keys[i, 1]
        if entry == 0:
            return -1 - np.int64(i)
        if keys[i, 0] == h:
            s = np.int64(entry) - 1
            if slots[s, SRC_LO] == lo and slots[s, SMALL] == small and slots[s, SRC_HI] == hi:
                return np.int64(i)
        i = (i + _ONE) & mask


@njit(cache=True)
def _key_delete(keys: np.ndarray, pos: np.int64) -> None:
    """Remove entry ``pos`` of the linear-probing key table, shifting later entries back."""
    mask = len(keys) - 1
    i = pos
    j = pos
    while True:
        j = (j + 1) & mask
        if keys[j, 1] == 0:
            break
        home = np.int64(keys[j, 0] & np.uint64(mask))
        # the entry at j stays unless its home lies cyclically outside (i, j]
        if (i <= j and i < home <= j) or (i > j and (home > i or home <= j)):
            continue
        keys[i, 0] = keys[j, 0]
        keys[i, 1] = keys[j, 1]
        i = j
    keys[i, 0] = 0
    keys[i, 1] = 0


@njit(cache=True, inline="always")
def _emit_pair(slots: np.ndarray, s: int | np.int64, pairs: np.ndarray, state: np.ndarray) -> None:
    if slots[s, SPACKETS] == 0:
        return
    k = state[ST_PAIRS]
    small = slots[s, SMALL]
    pairs[k, P_BUCKET] = slots[s, SBUCKET]
    pairs[k, P_SENSOR] = small >> 32
    pairs[k, P_PROTO] = (small >> 24) & 0xFF
    pairs[k, P_PORT] = (small >> 8) & 0xFFFF
    pairs[k, P_SRC_HI] = slots[s, SRC_HI]
    pairs[k, P_SRC_LO] = slots[s, SRC_LO]
    pairs[k, P_PACKETS] = slots[s, SPACKETS]
    slots[s, SPACKETS] = 0
    state[ST_PAIRS] = k + 1


@njit(cache=True, inline="always")
def _emit_event(slots: np.ndarray, s: int | np.int64, events: np.ndarray, state: np.ndarray,
                min_dsts: int) -> None:
    """Hand a closing event over, unless it has fewer than ``min_dsts`` destinations (most
    are one-packet events no threshold can reach: not copied at all)."""
    if slots[s, UNIQUE] < min_dsts:
        return
    k = state[ST_EVENTS]
    for c in range(NCOL):
        events[k, c] = slots[s, c]
    state[ST_EVENTS] = k + 1


@njit(cache=True, inline="always")
def _open(slots: np.ndarray, s: int | np.int64, state: np.ndarray, ts: np.int64) -> None:
    slots[s, TOKEN] = state[ST_NEXT_ID] + 1
    state[ST_NEXT_ID] += 1
    slots[s, FIRST] = ts
    slots[s, LAST] = ts
    slots[s, PACKETS] = 0
    slots[s, BYTES] = 0
    slots[s, ROWS] = 0
    slots[s, UNIQUE] = 0
    slots[s, ZMAP] = 0
    slots[s, MASSCAN] = 0
    slots[s, MIRAI] = 0
    slots[s, SBUCKET] = NO_BUCKET
    slots[s, SPACKETS] = 0


@njit(cache=True)
def scan_batch(packets: np.ndarray, order: np.ndarray, start: int, sensor: int,
               class_table: np.ndarray, port_source: np.ndarray, counted: np.ndarray,
               idle_ns: int, width_ns: int, offset_ns: int, min_dsts: int, slots: np.ndarray,
               free: np.ndarray, keys: np.ndarray, dst4: np.ndarray, dst6: np.ndarray,
               clock: np.ndarray, state: np.ndarray, events: np.ndarray,
               pairs: np.ndarray) -> int:
    """Feed rows ``start``… of one batch (in ``order`` when given) into the open events.

    ``sensor`` >= 0 is written into every row first. Closed events with at least
    ``min_dsts`` unique destinations are appended to ``events`` (the others are dropped)
    and series rows to ``pairs`` (``state`` counts both); ``clock`` keeps each sensor's
    latest time. Returns ``len(packets)``, or the row to resume from when a buffer or
    table is about to fill.
    """
    packets, order, class_table, port_source = (borrowed(packets), borrowed(order),
                                                borrowed(class_table), borrowed(port_source))
    counted, slots, free, keys = borrowed(counted), borrowed(slots), borrowed(free), borrowed(keys)
    dst4, dst6, clock, state = borrowed(dst4), borrowed(dst6), borrowed(clock), borrowed(state)
    events, pairs = borrowed(events), borrowed(pairs)
    n = len(packets)
    kmask = np.uint64(len(keys) - 1)
    mask4 = np.uint64(len(dst4) - 1)
    mask6 = np.uint64(len(dst6) - 1)
    natural = len(order) == 0
    ring_small = np.empty(_RING, np.int64)
    ring_hash = np.empty(_RING, np.uint64)
    for j in range(start, min(start + AHEAD, n)):
        p = packets[j if natural else order[j]]
        if sensor >= 0:
            p.sensor = sensor
        small = _service(p, class_table, port_source)
        ring_small[j % _RING] = small
        ring_hash[j % _RING] = _key_hash(p.src_hi, p.src_lo, np.uint64(small))
    for j in range(start, n):
        if (state[ST_EVENTS] + 1 >= len(events) or state[ST_PAIRS] + 1 >= len(pairs)
                or 2 * (state[ST_OPEN] + 1) > len(keys)
                or (state[ST_FREE] == 0 and state[ST_HIGH] + 1 > len(slots))
                or 2 * (state[ST_D4] + 1) > len(dst4) or 2 * (state[ST_D6] + 1) > len(dst6)
                or state[ST_NEXT_ID] >= ID_LIMIT):
            return j
        # prefetch: the key and destination entries AHEAD packets on, the slot half way
        ahead = j + AHEAD
        if ahead < n:
            q = packets[ahead if natural else order[ahead]]
            if sensor >= 0:
                q.sensor = sensor
            small = _service(q, class_table, port_source)
            h = _key_hash(q.src_hi, q.src_lo, np.uint64(small))
            ring_small[ahead % _RING] = small
            ring_hash[ahead % _RING] = h
            _prefetch(keys, h & kmask)
            if _is_v4(q.dst_hi, q.dst_lo):
                _prefetch(dst4, _dst4_place(h, (q.dst_lo & _LOW32) >> _S6) & mask4)
            else:
                _prefetch(dst6, _dst6_place(h, q.dst_hi, q.dst_lo) & mask6)
        half = j + AHEAD // 2
        if half < n:
            h = ring_hash[half % _RING]
            home = h & kmask
            if keys[home, 0] == h and keys[home, 1] != 0:
                _prefetch(slots, np.int64(keys[home, 1]) - 1)

        p = packets[j if natural else order[j]]
        small = ring_small[j % _RING]
        h = ring_hash[j % _RING]
        cls = small & 0xFF
        ts = np.int64(p.ts)
        hi = np.int64(p.src_hi)
        lo = np.int64(p.src_lo)
        at = _key_find(slots, keys, h, hi, lo, small)
        if at < 0:
            if state[ST_FREE] > 0:
                state[ST_FREE] -= 1
                s = free[state[ST_FREE]]
            else:
                s = state[ST_HIGH]
                state[ST_HIGH] = s + 1
            state[ST_OPEN] += 1
            slots[s, SRC_HI] = hi
            slots[s, SRC_LO] = lo
            slots[s, SMALL] = small
            slots[s, KEYHASH] = np.int64(h)
            _open(slots, s, state, ts)
            keys[-1 - at, 0] = h
            keys[-1 - at, 1] = np.uint64(s + 1)
        else:
            s = np.int64(keys[at, 1]) - 1
            if ts - slots[s, LAST] > idle_ns:
                _emit_pair(slots, s, pairs, state)
                _emit_event(slots, s, events, state, min_dsts)
                _open(slots, s, state, ts)
        count = np.int64(p.count)
        if ts > slots[s, LAST]:
            slots[s, LAST] = ts
        if ts < slots[s, FIRST]:
            slots[s, FIRST] = ts
        slots[s, PACKETS] += count
        slots[s, BYTES] += np.int64(p.length)
        slots[s, ROWS] += 1
        # fingerprints (classify.fingerprints): all three are IPv4-only
        if p.version == 4:
            ip_id = np.int64(p.ip_id)
            if ip_id == 54321:
                slots[s, ZMAP] += count
            if (np.int64(p.proto) == 6 and (np.int64(p.tcp_flags) & 0x16) == 0x02
                    and (np.int64(p.frag) & _NOT_FIRST) == 0):
                dst32 = np.int64(p.dst_lo & _LOW32)
                seq = np.int64(p.seq)
                if ip_id == ((dst32 ^ seq) & 0xFFFF) ^ np.int64(p.dport):
                    slots[s, MASSCAN] += count
                if seq == dst32:
                    slots[s, MIRAI] += count
        # unique destinations: (event id, destination) sets
        ident = np.uint64(slots[s, TOKEN] - 1)
        dhi = p.dst_hi
        dlo = p.dst_lo
        if _is_v4(dhi, dlo):
            block = (dlo & _LOW32) >> _S6
            bit = _ONE << (dlo & _LOW6)
            entry = (ident << _S32) | block
            k = _dst4_place(h, block) & mask4
            while True:
                t = dst4[k, 0]
                if t == entry:
                    if not dst4[k, 1] & bit:
                        dst4[k, 1] |= bit
                        slots[s, UNIQUE] += 1
                    break
                if t == EMPTY4:
                    dst4[k, 0] = entry
                    dst4[k, 1] = bit
                    state[ST_D4] += 1
                    slots[s, UNIQUE] += 1
                    break
                k = (k + _ONE) & mask4
        else:
            token = ident + _ONE
            k = _dst6_place(h, dhi, dlo) & mask6
            while True:
                t = dst6[k, 0]
                if t == 0:
                    dst6[k, 0] = token
                    dst6[k, 1] = dhi
                    dst6[k, 2] = dlo
                    state[ST_D6] += 1
                    slots[s, UNIQUE] += 1
                    break
                if t == token and dst6[k, 2] == dlo and dst6[k, 1] == dhi:
                    break
                k = (k + _ONE) & mask6
        # the series
        if counted[cls]:
            bucket = (ts + offset_ns) // width_ns
            if bucket != slots[s, SBUCKET]:
                _emit_pair(slots, s, pairs, state)
                slots[s, SBUCKET] = bucket
            slots[s, SPACKETS] += count
        sen = small >> 32
        if ts > clock[sen]:
            clock[sen] = ts
    return n


@njit(cache=True)
def sweep(slots: np.ndarray, free: np.ndarray, keys: np.ndarray, clock: np.ndarray,
          state: np.ndarray, idle_ns: int, min_dsts: int, close_all: bool, start: int,
          events: np.ndarray, pairs: np.ndarray) -> int:
    """Close the events whose sensor's clock passed their last packet + the idle timeout
    (all of them with ``close_all``), handing over their last series rows (and the events
    themselves when they reach ``min_dsts``, as ``scan_batch``).

    Starts at slot ``start``; returns -1 when done, else the slot to resume from once the
    buffers are drained.
    """
    slots, free, keys, clock = borrowed(slots), borrowed(free), borrowed(keys), borrowed(clock)
    state, events, pairs = borrowed(state), borrowed(events), borrowed(pairs)
    for s in range(start, state[ST_HIGH]):
        if state[ST_EVENTS] + 1 >= len(events) or state[ST_PAIRS] + 1 >= len(pairs):
            return s
        if slots[s, TOKEN] == 0:
            continue
        if close_all or clock[slots[s, SMALL] >> 32] - slots[s, LAST] > idle_ns:
            _emit_pair(slots, s, pairs, state)
            _emit_event(slots, s, events, state, min_dsts)
            at = _key_find(slots, keys, np.uint64(slots[s, KEYHASH]), slots[s, SRC_HI],
                           slots[s, SRC_LO], slots[s, SMALL])
            _key_delete(keys, at)
            slots[s, TOKEN] = 0
            free[state[ST_FREE]] = s
            state[ST_FREE] += 1
            state[ST_OPEN] -= 1
    # drop the free rows at the top so that later sweeps stop earlier
    high = state[ST_HIGH]
    while high > 0 and slots[high - 1, TOKEN] == 0:
        high -= 1
    if high != state[ST_HIGH]:
        state[ST_HIGH] = high
        k = 0
        for f in range(state[ST_FREE]):
            if free[f] < high:
                free[k] = free[f]
                k += 1
        state[ST_FREE] = k
    return -1


@njit(cache=True)
def rehash_keys(slots: np.ndarray, high: int, size: int) -> np.ndarray:
    """A key table of ``size`` (a power of two) entries holding every open slot."""
    keys = np.zeros((size, 2), np.uint64)
    mask = np.uint64(size - 1)
    for s in range(high):
        if slots[s, TOKEN] == 0:
            continue
        h = np.uint64(slots[s, KEYHASH])
        i = h & mask
        while keys[i, 1] != 0:
            i = (i + _ONE) & mask
        keys[i, 0] = h
        keys[i, 1] = np.uint64(s + 1)
    return keys


@njit(cache=True)
def open_ids(slots: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hash map of the open events' ids to their slots: (ids, slots), EMPTY4 where free."""
    high = state[ST_HIGH]
    size = 1
    while size < 2 * (high + 1):
        size *= 2
    mask = np.uint64(size - 1)
    ids = np.full(size, EMPTY4, np.uint64)
    owner = np.zeros(size, np.int64)
    for s in range(high):
        if slots[s, TOKEN] == 0:
            continue
        ident = np.uint64(slots[s, TOKEN] - 1)
        i = _mix(ident) & mask
        while ids[i] != EMPTY4:
            i = (i + _ONE) & mask
        ids[i] = ident
        owner[i] = s
    return ids, owner


@njit(cache=True, inline="always")
def _owner(ident: np.uint64, ids: np.ndarray, owner: np.ndarray) -> np.int64:
    """The slot of an open event's id, -1 when the event is closed."""
    mask = np.uint64(len(ids) - 1)
    i = _mix(ident) & mask
    while ids[i] != EMPTY4 and ids[i] != ident:
        i = (i + _ONE) & mask
    return owner[i] if ids[i] == ident else np.int64(-1)


@njit(cache=True)
def purge(dst: np.ndarray, v4: bool, ids: np.ndarray, owner: np.ndarray, renumber: bool) -> int:
    """Empty the entries of closed events in a destination set and count the others, in
    one pass; with ``renumber`` each remaining entry's id becomes its event's slot. The
    set is then ``rebuild4``/``rebuild6`` or ``rehash4_in_place``/``rehash6_in_place``."""
    dst, ids, owner = borrowed(dst), borrowed(ids), borrowed(owner)
    live = 0
    for k in range(len(dst)):
        t = dst[k, 0]
        if v4:
            if t == EMPTY4:
                continue
            s = _owner(t >> _S32, ids, owner)
            if s < 0:
                dst[k, 0] = EMPTY4
                dst[k, 1] = EMPTY4
                continue
            if renumber:
                dst[k, 0] = (np.uint64(s) << _S32) | (t & _LOW32)
        else:
            if t == 0:
                continue
            s = _owner(t - _ONE, ids, owner)
            if s < 0:
                dst[k, 0] = 0
                continue
            if renumber:
                dst[k, 0] = np.uint64(s + 1)
        live += 1
    return live


@njit(cache=True)
def rebuild4(slots: np.ndarray, dst4: np.ndarray, ids: np.ndarray, owner: np.ndarray,
             size: int, renumbered: bool) -> np.ndarray:
    """The purged IPv4 set in a new table of ``size`` entries (an entry's place depends on
    its event's key, not its id; ``renumbered``: the ids are slots already)."""
    slots, dst4, ids, owner = borrowed(slots), borrowed(dst4), borrowed(ids), borrowed(owner)
    out4 = np.full((size, 2), EMPTY4, np.uint64)
    m4 = np.uint64(size - 1)
    for k in range(len(dst4)):
        t = dst4[k, 0]
        if t == EMPTY4:
            continue
        s = np.int64(t >> _S32) if renumbered else _owner(t >> _S32, ids, owner)
        i = _dst4_place(np.uint64(slots[s, KEYHASH]), t & _LOW32) & m4
        while out4[i, 0] != EMPTY4:
            i = (i + _ONE) & m4
        out4[i, 0] = t
        out4[i, 1] = dst4[k, 1]
    return out4


@njit(cache=True)
def rebuild6(slots: np.ndarray, dst6: np.ndarray, ids: np.ndarray, owner: np.ndarray,
             size: int, renumbered: bool) -> np.ndarray:
    """``rebuild4`` for the IPv6 set."""
    slots, dst6, ids, owner = borrowed(slots), borrowed(dst6), borrowed(ids), borrowed(owner)
    out6 = np.zeros((size, 3), np.uint64)
    m6 = np.uint64(size - 1)
    for k in range(len(dst6)):
        t = dst6[k, 0]
        if t == 0:
            continue
        s = np.int64(t - _ONE) if renumbered else _owner(t - _ONE, ids, owner)
        i = _dst6_place(np.uint64(slots[s, KEYHASH]), dst6[k, 1], dst6[k, 2]) & m6
        while out6[i, 0] != 0:
            i = (i + _ONE) & m6
        out6[i, 0] = t
        out6[i, 1] = dst6[k, 1]
        out6[i, 2] = dst6[k, 2]
    return out6


@njit(cache=True)
def rehash4_in_place(slots: np.ndarray, dst4: np.ndarray, ids: np.ndarray, owner: np.ndarray,
                     renumbered: bool) -> None:
    """``rebuild4`` into the same table, when its size stays: no second table at once.

    Every entry of the purged set is taken out and put back from its home, cluster by
    cluster from an empty place on (linear probing stays valid).
    """
    slots, dst4, ids, owner = borrowed(slots), borrowed(dst4), borrowed(ids), borrowed(owner)
    n = len(dst4)
    mask = np.uint64(n - 1)
    start = 0
    while dst4[start, 0] != EMPTY4:
        start += 1
    for j in range(1, n + 1):
        at = np.uint64(start + j) & mask
        t = dst4[at, 0]
        if t == EMPTY4:
            continue
        s = np.int64(t >> _S32) if renumbered else _owner(t >> _S32, ids, owner)
        i = _dst4_place(np.uint64(slots[s, KEYHASH]), t & _LOW32) & mask
        if i == at:
            continue
        bitmap = dst4[at, 1]
        dst4[at, 0] = EMPTY4
        dst4[at, 1] = EMPTY4
        while dst4[i, 0] != EMPTY4:
            i = (i + _ONE) & mask
        dst4[i, 0] = t
        dst4[i, 1] = bitmap


@njit(cache=True)
def rehash6_in_place(slots: np.ndarray, dst6: np.ndarray, ids: np.ndarray, owner: np.ndarray,
                     renumbered: bool) -> None:
    """``rehash4_in_place`` for the IPv6 set."""
    slots, dst6, ids, owner = borrowed(slots), borrowed(dst6), borrowed(ids), borrowed(owner)
    n = len(dst6)
    mask = np.uint64(n - 1)
    start = 0
    while dst6[start, 0] != 0:
        start += 1
    for j in range(1, n + 1):
        at = np.uint64(start + j) & mask
        t = dst6[at, 0]
        if t == 0:
            continue
        s = np.int64(t - _ONE) if renumbered else _owner(t - _ONE, ids, owner)
        hi, lo = dst6[at, 1], dst6[at, 2]
        i = _dst6_place(np.uint64(slots[s, KEYHASH]), hi, lo) & mask
        if i == at:
            continue
        dst6[at, 0] = 0
        while dst6[i, 0] != 0:
            i = (i + _ONE) & mask
        dst6[i, 0] = t
        dst6[i, 1] = hi
        dst6[i, 2] = lo


@njit(cache=True)
def renumber_open(slots: np.ndarray, state: np.ndarray) -> None:
    """Give every open event its slot as id, once both sets are rebuilt with those ids."""
    high = state[ST_HIGH]
    for s in range(high):
        if slots[s, TOKEN] != 0:
            slots[s, TOKEN] = s + 1
    state[ST_NEXT_ID] = high


def set_size(live: int, floor: int) -> int:
    """A rebuilt set's entries: GROWTH times its live ones, a power of two, at least floor."""
    size = floor
    while size < GROWTH * (live + 1):
        size *= 2
    return size


@njit(cache=True)
def is_time_ordered(packets: np.ndarray) -> bool:
    for i in range(1, len(packets)):  # noqa: SIM110 (a loop numba compiles)
        if packets[i].ts < packets[i - 1].ts:
            return False
    return True
