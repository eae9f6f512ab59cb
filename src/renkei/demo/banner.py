"""What ``renkei serve --demo`` tells the person who started it: where to go, who to sign
in as, and that everything is synthetic."""

from __future__ import annotations

from rich.table import Table

from renkei.core.i18n import Translate, gettext_noop
from renkei.demo.cast import PASSWORD, USERS
from renkei.demo.seed.run import SeedResult

SYNTHETIC = gettext_noop("renkei demo hub: every organisation, user, log, packet, advisory, "
                         "report and incident in it is synthetic.")
DEMO_ONLY = gettext_noop("The passwords below are for this demo only: never use them, or "
                         "this database, for a real hub.")
OPEN = gettext_noop("Open {url} in a browser (REST API docs at {docs}).")
REUSED = gettext_noop("Using the demo hub seeded before ({path}); --demo-reset starts over.")
SEEDED = gettext_noop("Seeded the demo hub in {seconds:.1f} s ({path}).")
LIVING = gettext_noop("New demo data arrives every {seconds} s while the server runs.")
NOT_LOCAL = gettext_noop("Warning: the demo listens on {host}, beyond this computer, and "
                         "its passwords are printed here: prefer --host 127.0.0.1.")
USERS_TITLE = gettext_noop("Demo users (password for all: {password})")
EMAIL, ROLE, ORGANISATION = gettext_noop("E-mail"), gettext_noop("Role"), gettext_noop(
    "Organisation")
SEEDING = gettext_noop("Seeding the demo hub")


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def users_table(_: Translate) -> Table:
    table = Table(title=_(USERS_TITLE).format(password=PASSWORD), title_justify="left")
    table.add_column(_(EMAIL), no_wrap=True)  # an address must be read whole
    table.add_column(_(ROLE), no_wrap=True)
    table.add_column(_(ORGANISATION))
    for user in USERS:
        table.add_row(user.email, user.role.value, user.organisation)
    return table


def start_lines(_: Translate, *, url: str, path: str, result: SeedResult, every: int,
                host: str) -> list[str]:
    """The lines printed before the users' table."""
    lines = [_(SYNTHETIC), _(DEMO_ONLY)]
    if result.already:
        lines.append(_(REUSED).format(path=path))
    else:
        lines.append(_(SEEDED).format(seconds=result.seconds, path=path))
    if every:
        lines.append(_(LIVING).format(seconds=every))
    if not is_loopback(host):
        lines.append(_(NOT_LOCAL).format(host=host))
    lines.append(_(OPEN).format(url=url, docs=url.rstrip("/") + "/docs"))
    return lines
