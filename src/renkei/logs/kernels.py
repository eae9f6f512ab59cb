"""Numba kernels for the hot path: one pass over a block's bytes, no object per line.

Hand-written because nothing packaged parses access logs at this speed: Polars' regex
extraction alone measured 1.3M lines/s on one core here, before any decoding (see
docs/decisions/0003). ``normalise_fields`` must stay byte-for-byte equal to the
reference in ``normalise.py``; tests/logs/test_kernels.py checks that with Hypothesis.
"""

from __future__ import annotations

import numpy as np

from renkei.logs.jit import kernel, use_renkei_home
from renkei.logs.normalise import DECODE_ROUNDS

use_renkei_home()  # before the first kernel: where numba keeps them

# Parse outcome per line (0 = usable). The messages live in read.PARSE_ERRORS.
OK, BLANK, TOO_LONG, NO_TIME, BAD_TIME, NO_REQUEST, BAD_STATUS, BAD_SIZE, NO_SOURCE = range(9)
MISSING_TIME = np.iinfo(np.int64).min

# Column indices of the span matrix returned by parse_access_lines.
SRC, METHOD, TARGET, PROTO, REFERER, UA, TIME = range(7)
N_SPANS = 7

_MONTHS = np.array([(ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2]) for m in (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")],
    dtype=np.int64)


@kernel(inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@kernel(inline="always")
def _digits(buf: np.ndarray, i: int, n: int) -> int:
    value = 0
    for k in range(i, i + n):
        c = buf[k]
        if c < 48 or c > 57:
            return -1
        value = value * 10 + c - 48
    return value


@kernel(inline="always")
def _load8(buf: np.ndarray, j: int) -> np.uint64:
    w = np.uint64(0)
    for t in range(8):
        w |= np.uint64(buf[j + t]) << np.uint64(8 * t)
    return w


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


@kernel(inline="always")
def _has_byte(word: np.uint64, byte: int) -> bool:
    """Whether any of the eight bytes in ``word`` equals ``byte`` (the SWAR zero-byte test)."""
    v = word ^ (_ONES * np.uint64(byte))
    return bool(((v - _ONES) & ~v & _HIGHS) != np.uint64(0))


NO_OFFSET = 1 << 30


@kernel(inline="always")
def utc_offset(buf: np.ndarray, e: int) -> int:
    """Seconds east of UTC of a `` ±HHMM`` zone ending just before e, or NO_OFFSET."""
    if e < 6 or buf[e - 6] != 32 or not (buf[e - 5] == 43 or buf[e - 5] == 45):
        return NO_OFFSET
    tz_h = _digits(buf, e - 4, 2)
    tz_m = _digits(buf, e - 2, 2)
    if tz_h < 0 or tz_m < 0 or tz_h > 23 or tz_m > 59:
        return NO_OFFSET
    return (tz_h * 3600 + tz_m * 60) * (1 if buf[e - 5] == 43 else -1)


@kernel(nogil=True)
def utc_offsets(buf: np.ndarray, time_spans: np.ndarray) -> np.ndarray:
    """The zone of each line's time field, in seconds east of UTC (0 when absent)."""
    out = np.zeros(time_spans.shape[0], np.int64)
    for k in range(time_spans.shape[0]):
        if time_spans[k, 0] >= 0:
            offset = utc_offset(buf, time_spans[k, 1])
            out[k] = 0 if offset == NO_OFFSET else offset
    return out


@kernel()
def _parse_clf_time(buf: np.ndarray, s: int, e: int, months: np.ndarray) -> int:
    """``10/Oct/2000:13:55:36[.123] [-0700]`` to epoch seconds, or MISSING_TIME.

    The zone, when present, is the last six bytes (`` ±HHMM``); ``utc_offset`` reads it
    from there too, so the two always agree.
    """
    if (e - s < 20 or buf[s + 2] != 47 or buf[s + 6] != 47 or buf[s + 11] != 58
            or buf[s + 14] != 58 or buf[s + 17] != 58):
        return MISSING_TIME
    day = _digits(buf, s, 2)
    key = ((buf[s + 3] | 32) << 16) | ((buf[s + 4] | 32) << 8) | (buf[s + 5] | 32)
    month = 0
    for k in range(12):
        if months[k] == key:
            month = k + 1
    year = _digits(buf, s + 7, 4)
    hour = _digits(buf, s + 12, 2)
    minute = _digits(buf, s + 15, 2)
    second = _digits(buf, s + 18, 2)
    if month == 0 or min(day, year, hour, minute, second) < 0:
        return MISSING_TIME
    if year < 1 or day < 1 or day > 31 or hour > 23 or minute > 59 or second > 60:
        return MISSING_TIME
    p = s + 20
    if p < e and buf[p] == 46:  # fractions of a second, as %{msec_frac}t writes them
        p += 1
        while p < e and 48 <= buf[p] <= 57:
            p += 1
    offset = 0
    if p != e:
        offset = utc_offset(buf, e)
        if e - p != 6 or offset == NO_OFFSET:
            return MISSING_TIME
    days = _days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + second - offset


@kernel(inline="always")
def _scan_to(buf: np.ndarray, j: int, n: int, ch: int) -> int:
    """First index from j holding ``ch`` or a line break, or n."""
    while j + 8 <= n:  # skip eight bytes at a time while none of them can stop us
        w = _load8(buf, j)
        if _has_byte(w, ch) or _has_byte(w, 10):
            break
        j += 8
    while j < n:
        c = buf[j]
        if c == ch or c == 10:
            return j
        j += 1
    return n


@kernel(inline="always")
def _quoted_end(buf: np.ndarray, j: int, n: int) -> int:
    """Closing quote of a field opened just before j, or -1 if the line ends first.

    A backslash escapes the next byte (Apache writes ``\\"``), but never a line break.
    """
    while j + 8 <= n:  # skip eight bytes at a time while none is a quote, backslash or break
        w = _load8(buf, j)
        if _has_byte(w, 34) or _has_byte(w, 92) or _has_byte(w, 10):
            break
        j += 8
    while j < n:
        c = buf[j]
        if c == 10:
            return -1
        if c == 92:
            if j + 1 < n and buf[j + 1] == 10:
                return -1
            j += 2
            continue
        if c == 34:
            return j
        j += 1
    return -1


@kernel()
def count_lines(buf: np.ndarray) -> int:
    n = 0
    for c in buf:
        if c == 10:
            n += 1
    if len(buf) > 0 and buf[len(buf) - 1] != 10:
        n += 1
    return n


@kernel(inline="always")
def _parse_line(buf: np.ndarray, s: int, n: int, k: int, spans: np.ndarray, status: np.ndarray,
                size: np.ndarray, epoch: np.ndarray, months: np.ndarray) -> tuple[int, int]:
    """Fields of the line starting at s; (error code, index where parsing stopped).

    Scans never cross a line break, so the line's end is found from where parsing stops
    and each byte is visited about once.
    """
    j = _scan_to(buf, s, n, 32)
    if j == s or j >= n or buf[j] == 10:
        return NO_SOURCE if j == s else NO_TIME, j
    spans[k, SRC, 0] = s
    spans[k, SRC, 1] = j
    j = _scan_to(buf, j, n, 91)
    if j >= n or buf[j] == 10:
        return NO_TIME, j
    t0 = j + 1
    j = _scan_to(buf, t0, n, 93)
    if j >= n or buf[j] == 10:
        return NO_TIME, j
    epoch[k] = _parse_clf_time(buf, t0, j, months)
    spans[k, TIME, 0] = t0
    spans[k, TIME, 1] = j
    if epoch[k] == MISSING_TIME:
        return BAD_TIME, j
    j += 1
    if j + 1 >= n or buf[j] != 32 or buf[j + 1] != 34:
        return NO_REQUEST, j
    r0 = j + 2
    r1 = _quoted_end(buf, r0, n)
    if r1 < 0:
        return NO_REQUEST, r0
    # method SP target SP protocol; anything else is kept whole as the target
    sp1 = r0
    while sp1 < r1 and buf[sp1] != 32:
        sp1 += 1
    sp2 = r1
    while sp2 > sp1 and buf[sp2 - 1] != 32:
        sp2 -= 1
    if sp1 < r1 and sp2 - 1 > sp1:
        spans[k, METHOD, 0] = r0
        spans[k, METHOD, 1] = sp1
        spans[k, TARGET, 0] = sp1 + 1
        spans[k, TARGET, 1] = sp2 - 1
        spans[k, PROTO, 0] = sp2
        spans[k, PROTO, 1] = r1
    elif sp1 < r1:
        spans[k, METHOD, 0] = r0
        spans[k, METHOD, 1] = sp1
        spans[k, TARGET, 0] = sp1 + 1
        spans[k, TARGET, 1] = r1
    else:
        spans[k, TARGET, 0] = r0
        spans[k, TARGET, 1] = r1
    j = r1 + 1
    if j + 4 > n or buf[j] != 32:
        return BAD_STATUS, j
    code = _digits(buf, j + 1, 3)
    after = buf[j + 4] if j + 4 < n else 10
    if code < 100 or not (after == 32 or after == 10 or after == 13):
        return BAD_STATUS, j
    status[k] = code
    j += 4
    if j < n and buf[j] == 32:
        j += 1
        b0 = j
        value = 0
        while j < n and 48 <= buf[j] <= 57 and j - b0 < 18:
            value = value * 10 + buf[j] - 48
            j += 1
        if j > b0:
            size[k] = value
        elif j < n and buf[j] == 45:
            j += 1
        if j < n and not (buf[j] == 32 or buf[j] == 10 or buf[j] == 13):
            return BAD_SIZE, j
    # optional "referer" "user agent"; more fields may follow and are ignored
    if j + 1 < n and buf[j] == 32 and buf[j + 1] == 34:
        f0 = j + 2
        f1 = _quoted_end(buf, f0, n)
        if f1 >= 0:
            spans[k, REFERER, 0] = f0
            spans[k, REFERER, 1] = f1
            j = f1 + 1
            if j + 1 < n and buf[j] == 32 and buf[j + 1] == 34:
                u0 = j + 2
                u1 = _quoted_end(buf, u0, n)
                if u1 >= 0:
                    spans[k, UA, 0] = u0
                    spans[k, UA, 1] = u1
                    j = u1 + 1
    return OK, j


@kernel(nogil=True)
def parse_access_lines(buf: np.ndarray, max_line: int):  # type: ignore[no-untyped-def]
    """Split a block of Apache/nginx ``common``/``combined`` lines into columns.

    Returns (line_start, line_end, spans[n, 7, 2], status, size, epoch, error).
    Spans are byte offsets into ``buf``; -1 where a field is absent. The month table is a
    global (a constant of the compiled code), not a default argument: numba keys a default
    array by its identity, which differs in every process, so the on-disk cache was never
    hit and this kernel was compiled again (about ten seconds) at each process's first scan.
    """
    months = _MONTHS
    lines = count_lines(buf)
    line_start = np.empty(lines, np.int64)
    line_end = np.empty(lines, np.int64)
    spans = np.full((lines, N_SPANS, 2), -1, np.int64)
    status = np.full(lines, -1, np.int32)
    size = np.full(lines, -1, np.int64)
    epoch = np.full(lines, MISSING_TIME, np.int64)
    error = np.zeros(lines, np.int8)
    n = len(buf)
    i = 0
    for k in range(lines):
        s = i
        code, j = _parse_line(buf, s, n, k, spans, status, size, epoch, months)
        e = _scan_to(buf, max(j, s), n, 10)
        i = e + 1
        if e > s and buf[e - 1] == 13:
            e -= 1
        line_start[k] = s
        line_end[k] = e
        if e == s:
            code = BLANK
        elif e - s > max_line:
            code = TOO_LONG
        error[k] = code
        if code != OK:
            epoch[k] = MISSING_TIME
            status[k] = -1
            size[k] = -1
            for f in range(N_SPANS):
                spans[k, f, 0] = -1
                spans[k, f, 1] = -1
    return line_start, line_end, spans, status, size, epoch, error


@kernel(inline="always")
def _hex(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    c |= 32
    if 97 <= c <= 102:
        return c - 87
    return -1


@kernel(inline="always")
def _hex_pair(src: np.ndarray, j: int, m: int) -> int:
    """The byte written as two hex digits at src[j:j+2], or -1."""
    if j + 1 >= m:
        return -1
    h0 = _hex(src[j])
    h1 = _hex(src[j + 1])
    return h0 * 16 + h1 if h0 >= 0 and h1 >= 0 else -1


@kernel(inline="always")
def _numeric_ref(src: np.ndarray, start: int, m: int, base: int, most: int) -> tuple[int, int]:
    """(code point, index after the optional ';') of up to ``most`` digits, or (-1, 0)."""
    t = start
    cp = 0
    while t < m and t - start < most:
        digit = _hex(src[t]) if base == 16 else (src[t] - 48 if 48 <= src[t] <= 57 else -1)
        if digit < 0:
            break
        cp = cp * base + digit
        t += 1
    if t == start:
        return -1, 0
    if t < m and src[t] == 59:
        t += 1
    return cp, t


@kernel(inline="always")
def _put_code_point(out: np.ndarray, w: int, cp: int) -> int:
    if cp > 0x10FFFF or (0xD800 <= cp <= 0xDFFF):
        out[w] = 63
        return w + 1
    if cp < 0x80:
        out[w] = cp
        return w + 1
    if cp < 0x800:
        out[w] = 0xC0 | (cp >> 6)
        out[w + 1] = 0x80 | (cp & 0x3F)
        return w + 2
    if cp < 0x10000:
        out[w] = 0xE0 | (cp >> 12)
        out[w + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[w + 2] = 0x80 | (cp & 0x3F)
        return w + 3
    out[w] = 0xF0 | (cp >> 18)
    out[w + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[w + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[w + 3] = 0x80 | (cp & 0x3F)
    return w + 4


@kernel(inline="always")
def _lower(c: int) -> int:
    return c | 32 if 65 <= c <= 90 else c


@kernel(inline="always")
def _named_ref(src: np.ndarray, j: int, m: int) -> tuple[int, int]:
    """(character, length) of &lt; &gt; &quot; &apos; &amp; at src[j], or (-1, 0)."""
    if j + 3 < m and _lower(src[j + 1]) == 108 and _lower(src[j + 2]) == 116 and src[j + 3] == 59:
        return 60, 4
    if j + 3 < m and _lower(src[j + 1]) == 103 and _lower(src[j + 2]) == 116 and src[j + 3] == 59:
        return 62, 4
    if (j + 4 < m and _lower(src[j + 1]) == 97 and _lower(src[j + 2]) == 109
            and _lower(src[j + 3]) == 112 and src[j + 4] == 59):
        return 38, 5
    if (j + 5 < m and _lower(src[j + 1]) == 113 and _lower(src[j + 2]) == 117
            and _lower(src[j + 3]) == 111 and _lower(src[j + 4]) == 116 and src[j + 5] == 59):
        return 34, 6
    if (j + 5 < m and _lower(src[j + 1]) == 97 and _lower(src[j + 2]) == 112
            and _lower(src[j + 3]) == 111 and _lower(src[j + 4]) == 115 and src[j + 5] == 59):
        return 39, 6
    return -1, 0


@kernel()
def _decode_round(src: np.ndarray, m: int, dst: np.ndarray) -> tuple[int, bool]:
    w = 0
    j = 0
    changed = False
    while j < m:
        c = src[j]
        if c == 37:  # %
            if j + 5 < m and (src[j + 1] | 32) == 117:
                h0 = _hex(src[j + 2])
                h1 = _hex(src[j + 3])
                h2 = _hex(src[j + 4])
                h3 = _hex(src[j + 5])
                if h0 >= 0 and h1 >= 0 and h2 >= 0 and h3 >= 0:
                    w = _put_code_point(dst, w, ((h0 * 16 + h1) * 16 + h2) * 16 + h3)
                    j += 6
                    changed = True
                    continue
            byte = _hex_pair(src, j + 1, m)
            if byte >= 0:
                dst[w] = byte
                w += 1
                j += 3
                changed = True
                continue
        elif c == 92 and j + 1 < m:  # backslash
            n1 = src[j + 1]
            byte = _hex_pair(src, j + 2, m) if (n1 | 32) == 120 else -1
            if byte >= 0:
                dst[w] = byte
                w += 1
                j += 4
                changed = True
                continue
            if n1 == 34 or n1 == 92:
                dst[w] = n1
                w += 1
                j += 2
                changed = True
                continue
        elif c == 38 and j + 2 < m:  # &
            if src[j + 1] == 35:  # &#
                hexa = (src[j + 2] | 32) == 120
                cp, t = _numeric_ref(src, j + 3, m, 16, 6) if hexa else (-1, 0)
                if cp < 0:
                    cp, t = _numeric_ref(src, j + 2, m, 10, 7)
                if cp >= 0:
                    w = _put_code_point(dst, w, cp)
                    j = t
                    changed = True
                    continue
            else:
                ch, length = _named_ref(src, j, m)
                if ch >= 0:
                    dst[w] = ch
                    w += 1
                    j += length
                    changed = True
                    continue
        dst[w] = c
        w += 1
        j += 1
    return w, changed


@kernel()
def _fold_overlong(src: np.ndarray, m: int, dst: np.ndarray) -> int:
    w = 0
    j = 0
    while j < m:
        c = src[j]
        if (c == 0xC0 or c == 0xC1) and j + 1 < m and 0x80 <= src[j + 1] <= 0xBF:
            dst[w] = ((c & 1) << 6) | (src[j + 1] & 0x3F)
            w += 1
            j += 2
            continue
        if (c == 0xE0 and j + 2 < m and 0x80 <= src[j + 1] <= 0x81
                and 0x80 <= src[j + 2] <= 0xBF):
            dst[w] = ((src[j + 1] & 0x3F) << 6) | (src[j + 2] & 0x3F)
            w += 1
            j += 3
            continue
        if c == 0xEF and j + 2 < m and 0x80 <= src[j + 2] <= 0xBF and (
                (src[j + 1] == 0xBC and src[j + 2] >= 0x81)
                or (src[j + 1] == 0xBD and src[j + 2] <= 0x9E)):
            cp = ((src[j + 1] & 0x3F) << 6) | (src[j + 2] & 0x3F) | 0xF000
            dst[w] = cp - 0xFEE0
            w += 1
            j += 3
            continue
        dst[w] = c
        w += 1
        j += 1
    return w


@kernel(inline="always")
def _fold(c: int) -> int:
    if 65 <= c <= 90:
        return c | 32
    if c == 43 or c == 9 or c == 10 or c == 13 or c == 11 or c == 12 or c == 0xA0:
        return 32
    if c == 92:
        return 47
    return c


@kernel()
def _emit_folded(src: np.ndarray, m: int, out: np.ndarray, o: int) -> int:
    """Comments to one space, then fold and collapse spaces, appending to out[o:]."""
    prev_space = False
    j = 0
    while j < m:
        c = src[j]
        if c == 47 and j + 1 < m and src[j + 1] == 42:  # /*
            if j + 2 < m and src[j + 2] == 33:  # /*!digits
                j += 3
                while j < m and 48 <= src[j] <= 57:
                    j += 1
                c = 32
            else:
                t = j + 2
                while t + 1 < m and src[t] != 47 and not (src[t] == 42 and src[t + 1] == 47):
                    t += 1
                if t + 1 < m and src[t] == 42 and src[t + 1] == 47:
                    j = t + 2
                    c = 32
                else:  # no closing */ before a '/': a path glob, not a comment
                    j += 1
        elif (c == 42 and j + 1 < m and src[j + 1] == 47) or (c == 0xC2 and j + 1 < m and src[j + 1] == 0xA0):  # */
            j += 2
            c = 32
        else:
            j += 1
            c = _fold(c)
        if c == 32:
            if prev_space:
                continue
            prev_space = True
        else:
            prev_space = False
        out[o] = c
        o += 1
    return o


@kernel(nogil=True)
def normalise_fields(buf: np.ndarray, spans: np.ndarray, skip_dash: bool):  # type: ignore[no-untyped-def]
    """Normalise one field of every line into one buffer, lines separated by ``\\n``.

    Returns (text, starts) where line k is text[starts[k]:starts[k+1]-1].
    """
    n = spans.shape[0]
    total = 0
    longest = 0
    for k in range(n):
        if spans[k, 0] >= 0:
            length = spans[k, 1] - spans[k, 0]
            total += length
            longest = max(longest, length)
    out = np.empty(total + n, np.uint8)
    starts = np.empty(n + 1, np.int64)
    a = np.empty(longest + 1, np.uint8)
    b = np.empty(longest + 1, np.uint8)
    o = 0
    for k in range(n):
        starts[k] = o
        s = spans[k, 0]
        e = spans[k, 1]
        if s >= 0 and not (skip_dash and e - s == 1 and buf[s] == 45):
            m = e - s
            for t in range(m):
                a[t] = buf[s + t]
            for _ in range(DECODE_ROUNDS):
                m, changed = _decode_round(a, m, b)
                a, b = b, a
                if not changed:
                    break
            m = _fold_overlong(a, m, b)
            o = _emit_folded(b, m, out, o)
        out[o] = 10
        o += 1
    starts[n] = o
    return out[:o], starts


@kernel(nogil=True)
def invalid_utf8_lines(buf: np.ndarray, line_start: np.ndarray, line_end: np.ndarray) -> np.ndarray:
    """True for each line that is not valid UTF-8 (only called when a block fails to decode)."""
    n = len(line_start)
    bad = np.zeros(n, np.bool_)
    for k in range(n):
        j = line_start[k]
        e = line_end[k]
        while j < e:
            c = buf[j]
            if c < 0x80:
                j += 1
                continue
            if 0xC2 <= c <= 0xDF:
                need = 1
            elif 0xE0 <= c <= 0xEF:
                need = 2
            elif 0xF0 <= c <= 0xF4:
                need = 3
            else:
                bad[k] = True
                break
            if j + need >= e:  # the sequence runs past the line
                bad[k] = True
                break
            ok = True
            for t in range(1, need + 1):
                if j + t >= e or not (0x80 <= buf[j + t] <= 0xBF):
                    ok = False
            if ok and need == 2:
                c1 = buf[j + 1]
                if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 > 0x9F):
                    ok = False
            if ok and need == 3:
                c1 = buf[j + 1]
                if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 > 0x8F):
                    ok = False
            if not ok:
                bad[k] = True
                break
            j += need + 1
    return bad


@kernel(inline="always")
def _span_equal(buf: np.ndarray, s1: int, e1: int, s2: int, e2: int) -> bool:
    if e1 - s1 != e2 - s2:
        return False
    t = 0
    length = e1 - s1
    while t + 8 <= length:  # eight bytes per step
        if _load8(buf, s1 + t) != _load8(buf, s2 + t):
            return False
        t += 8
    while t < length:
        if buf[s1 + t] != buf[s2 + t]:
            return False
        t += 1
    return True


@kernel(nogil=True)
def dedupe_spans(buf: np.ndarray, spans: np.ndarray, stop_at: int):  # type: ignore[no-untyped-def]
    """Distinct values of one field: (hash per line, first line of each value, value of each line).

    The span ends at the first ``stop_at`` byte (``?`` keeps only the path); -1 for none.
    An open-addressing table compares bytes on a hash clash, so values are exact.
    """
    n = spans.shape[0]
    ends = np.empty(n, np.int64)
    hashes = np.zeros(n, np.uint64)
    for k in range(n):
        s = spans[k, 0]
        e = spans[k, 1]
        if s < 0:
            ends[k] = -1
            continue
        h = np.uint64(14695981039346656037)
        j = s
        if stop_at < 0:  # whole field: eight bytes per step
            while j + 8 <= e:
                h = (h ^ _load8(buf, j)) * np.uint64(0x9E3779B97F4A7C15)
                h ^= h >> np.uint64(29)
                j += 8
        while j < e:
            c = buf[j]
            if c == stop_at:
                break
            h = (h ^ np.uint64(c)) * np.uint64(1099511628211)
            j += 1
        ends[k] = j
        hashes[k] = h
    cap = 16
    while cap < 2 * n:
        cap *= 2
    mask = cap - 1
    slot_line = np.full(cap, -1, np.int64)
    slot_id = np.empty(cap, np.int64)
    first = np.empty(n, np.int64)
    inverse = np.empty(n, np.int64)
    distinct = 0
    for k in range(n):
        h = hashes[k]
        slot = np.int64(h & np.uint64(mask))
        while True:
            other = slot_line[slot]
            if other < 0:
                slot_line[slot] = k
                slot_id[slot] = distinct
                first[distinct] = k
                inverse[k] = distinct
                distinct += 1
                break
            if hashes[other] == h and (
                (spans[k, 0] < 0 and spans[other, 0] < 0)
                or (spans[k, 0] >= 0 and spans[other, 0] >= 0
                    and _span_equal(buf, spans[k, 0], ends[k], spans[other, 0], ends[other]))
            ):
                inverse[k] = slot_id[slot]
                break
            slot = (slot + 1) & mask
    return hashes, first[:distinct], inverse


@kernel(nogil=True)
def gather_spans(buf: np.ndarray, spans: np.ndarray, separator: int) -> np.ndarray:
    """The bytes of each span, joined by ``separator``: one decode for many fields."""
    total = 0
    for k in range(spans.shape[0]):
        if spans[k, 0] >= 0:
            total += spans[k, 1] - spans[k, 0]
    out = np.empty(total + spans.shape[0], np.uint8)
    o = 0
    for k in range(spans.shape[0]):
        s = spans[k, 0]
        if s >= 0:
            for j in range(s, spans[k, 1]):
                out[o] = buf[j]
                o += 1
        out[o] = separator
        o += 1
    return out[: max(o - 1, 0)]
