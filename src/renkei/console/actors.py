"""Who ``user:3`` is: the audit log and the domains' histories name people by their user
id; pages show the person instead, as far as the viewer may know them.

The hub's staff see every user as ``name <e-mail>``. A member sees its own organisation's
users so, the hub's users as "hub staff" and anyone else as "another organisation": a
page never tells a member who works for another member. A route that knows its values
asks for them with ``preload``, one query for them all, never one per row; a name a
template needs that was not preloaded is read on its own, that one user and no other, so
a page never reads the whole users table for the few people it shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from renkei.core.i18n import Translate, gettext_noop
from renkei.core.members import Principal
from renkei.core.models import Organisation, User

USER_PATTERN = re.compile(r"user:([0-9]{1,10})")
HUB_STAFF = gettext_noop("hub staff")
ELSEWHERE = gettext_noop("another organisation")


@dataclass(frozen=True)
class Known:
    """What the viewer may learn of one user."""

    email: str
    name: str
    organisation_id: int
    is_hub: bool


def user_id_of(value: str | None) -> int | None:
    """3 for ``user:3``; None for anything else (a token, ``cli``, ``anonymous``)."""
    match = USER_PATTERN.fullmatch(value or "")
    return int(match.group(1)) if match else None


@dataclass
class ActorNames:
    """One page's labels for the actors and targets it shows (see the module docstring)."""

    session: Session
    principal: Principal
    t: Translate
    _known: dict[int, Known] = field(default_factory=dict)
    _asked: set[int] = field(default_factory=set)  # read, whether found or not

    def _read(self, ids: list[int]) -> None:
        """These users, of those the viewer may know: a member never reads another
        member's users, so no later step can show what was never read."""
        stmt = (select(User.id, User.email, User.name, User.organisation_id, Organisation.is_hub)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(User.id.in_(ids)))
        if not self.principal.is_hub:
            stmt = stmt.where(or_(User.organisation_id == self.principal.organisation_id,
                                  Organisation.is_hub.is_(True)))
        for user_id, email, name, organisation_id, is_hub in self.session.execute(stmt):
            self._known[user_id] = Known(email, name, organisation_id, is_hub)
        self._asked.update(ids)

    def preload(self, values: Iterable[str | None]) -> None:
        """Read the users these values name, in one query (per thousand)."""
        ids = sorted({i for i in map(user_id_of, values) if i is not None} - self._asked)
        for start in range(0, len(ids), 1_000):  # bounded: a query takes few parameters
            self._read(ids[start:start + 1_000])

    def label(self, value: str | None) -> str:
        """How the viewer sees ``value``: a person, "hub staff", "another organisation",
        or the value itself when it names no user."""
        user_id = user_id_of(value)
        if user_id is None:
            return value or "-"
        if user_id not in self._asked:  # not preloaded: this one user, not the table
            self._read([user_id])
        known = self._known.get(user_id)
        if known is None:
            return self.t(ELSEWHERE) if not self.principal.is_hub else value or "-"
        if self.principal.is_hub or known.organisation_id == self.principal.organisation_id:
            return f"{known.name} <{known.email}>" if known.name else known.email
        return self.t(HUB_STAFF) if known.is_hub else self.t(ELSEWHERE)
