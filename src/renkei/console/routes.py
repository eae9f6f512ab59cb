"""Mounts the console on the app: its own pages, each domain's pages, static files.

Adding a domain's pages is one line in ``PAGE_MODULES``: the module (``renkei.<domain>.pages``)
has an ``APIRouter`` named ``router`` whose routes live under ``/<domain>/``, and may have
``PANELS``, a list of ``renkei.console.panels.Panel`` for the overview. The navigation bar
shows a domain's entry once its module is listed here. See docs/console.md.
"""

from __future__ import annotations

from importlib import import_module

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from renkei.console import account, errors, login, overview, panels
from renkei.console.admin import audit_log, organisations, tokens, users
from renkei.console.web import STATIC, ConsoleState, NavEntry, PageExit, on_page_exit
from renkei.core.i18n import gettext_noop

#: one line per domain: "renkei.<domain>.pages"
PAGE_MODULES: list[str] = [
    "renkei.vulns.pages",
    "renkei.plan.pages",
    "renkei.logs.pages",
    "renkei.sensors.pages",
    "renkei.sharing.pages",
    "renkei.incidents.pages",
]

NAV = (
    NavEntry("overview", gettext_noop("Overview"), "/"),
    NavEntry("logs", gettext_noop("Logs"), "/logs/"),
    NavEntry("sensors", gettext_noop("Sensors"), "/sensors/"),
    NavEntry("vulns", gettext_noop("Vulnerabilities"), "/vulns/"),
    NavEntry("sharing", gettext_noop("Sharing"), "/sharing/"),
    NavEntry("incidents", gettext_noop("Incidents"), "/incidents/"),
    NavEntry("plan", gettext_noop("Plan"), "/plan/"),
    NavEntry("admin", gettext_noop("Administration"), "/admin/organisations", admin_only=True),
)
ALWAYS_SHOWN = frozenset({"overview", "admin"})
OWN_ROUTERS: tuple[APIRouter, ...] = (
    login.router, overview.router, account.router, organisations.router, users.router,
    tokens.router, audit_log.router)


def domain_of(router: APIRouter) -> str:
    """``/logs`` -> ``logs``: the nav key a domain's router stands for."""
    return router.prefix.strip("/").split("/", 1)[0]


def mount(app: FastAPI, *, secure_cookies: bool | None = None,
          modules: list[str] | None = None, public_origin: str | None = None) -> None:
    """Add the console to ``app``. ``secure_cookies``: None follows the public origin's
    scheme, or without one the request's; ``public_origin`` (``https://hub.example``,
    normalised as ``config.parse_public_origin`` does): the origin browsers see behind a
    proxy, which forms must come from. Call it after the app's own error handlers are
    in place: the console's error pages wrap them (``errors``)."""
    found = [*panels.PANELS]
    present = set(ALWAYS_SHOWN)
    for router in OWN_ROUTERS:
        app.include_router(router)
    for name in PAGE_MODULES if modules is None else modules:
        module = import_module(name)
        router = module.router
        app.include_router(router)
        present.add(domain_of(router))
        found.extend(getattr(module, "PANELS", ()))
    app.state.console = ConsoleState(
        secure_cookies=secure_cookies, nav=tuple(e for e in NAV if e.key in present),
        panels=tuple(sorted(found, key=lambda panel: panel.order)),
        public_origin=public_origin or None)
    app.add_exception_handler(PageExit, on_page_exit)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
