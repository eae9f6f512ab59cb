"""The console's second factor: time-based one-time passwords (RFC 6238, 30 s, 6 digits).

A code is accepted in the time step it was made for or the one either side of it
(pyotp's ``valid_window=1``: clocks drift), and only for a step later than the last one
accepted for the same user, so a code seen over someone's shoulder cannot be used again.
The enrolment QR code is an SVG made here (segno), shown as a ``data:`` image: no service
outside the hub ever sees the secret.
"""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
import segno

ISSUER = "renkei"
VALID_WINDOW = 1
CODE_PATTERN = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as a ``data:image/svg+xml`` URI for an ``<img>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def accepted_step(secret: str, code: str, now: datetime, *, after: int | None) -> int | None:
    """The time step ``code`` is valid for (within the window, later than ``after``), or
    None when it is not accepted."""
    typed = code.strip().replace(" ", "")[:12]
    if CODE_PATTERN.fullmatch(typed) is None:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if (after is None or step > after) and pyotp.utils.strings_equal(
                typed, totp.generate_otp(step)):
            return step
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator app shows at ``when`` (tests and the demo use it)."""
    return pyotp.TOTP(secret).at(when)
