"""The overview page is a column of panels; each domain may add its own.

A domain's ``pages`` module lists its panels in ``PANELS``; the console collects them when
it mounts the domain's router, and the overview shows them by ``order``. A panel's
``render`` gets the signed-in ``Page`` and answers markup (usually
``p.fragment("<domain>/panel.html", …)``), or None when there is nothing for this user
to see; it reads through its domain's services with ``p.principal``, like any page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from renkei.console.web import Page
from renkei.core import audit
from renkei.core.i18n import gettext_noop

RECENT_EVENTS = 10


@dataclass(frozen=True)
class Panel:
    """One section of the overview: ``title`` is an English msgid, shown translated."""

    key: str
    title: str
    render: Callable[[Page], Markup | None]
    order: int = 100


def account(p: Page) -> Markup:
    return p.fragment("overview/account.html", session_row=p.row)


def recent_audit(p: Page) -> Markup | None:
    if not p.is_admin:
        return None
    events = audit.recent(p.session, RECENT_EVENTS)
    p.names.preload([e.actor for e in events] + [e.target for e in events])
    return p.fragment("overview/audit.html", events=events)


PANELS = [
    Panel("account", gettext_noop("Your account"), account, order=10),
    Panel("audit", gettext_noop("Recent audit events"), recent_audit, order=900),
]
