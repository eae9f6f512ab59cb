"""What every console page shares: the unit of work, who is signed in, their language,
CSRF and Origin checks, cookies, templates, and charts.

A page route (see docs/console.md, "Adding a domain's pages")::

    @router.get("/alerts")
    def alerts(request: Request) -> Response:
        with page(request) as p:          # signed in, or a redirect to /login?next=…
            rows = service.alerts(p.session, p.principal)
            return p.render("logs/alerts.html", title=p.t("Alerts"), rows=rows)

    @router.post("/alerts/{id}/close")
    def close(request: Request, id: int, form: Form) -> Response:
        with page(request, form) as p:    # POST: CSRF token and Origin checked first
            service.close(p.session, p.clock, p.principal, id)
            return p.redirect("/logs/alerts")

``p.session`` commits when the block ends normally and rolls back on an error; a
``UserError`` a service raises is committed (its audit record stays) and shown as an
error page, unless the route catches it to show the form again with ``p.message(error)``.
``p.principal`` is the same ``Principal`` the API gives the sharing policy, so a page
sees exactly what the same user would see through the API.

Templates are Jinja2 with autoescaping and ``StrictUndefined``, one folder per domain
under ``console/templates/``; each extends ``base.html`` and gets ``_`` (the user's
translator), ``p`` (the page), ``csrf``, ``lang`` and ``nav``; ``{{ e.actor | actor }}``
shows ``user:3`` as the person, as far as the viewer may know them (``console.actors``).
A form that changes anything carries ``<input type="hidden" name="csrf" value="{{ csrf }}">``;
a script sends the token in the ``X-CSRF-Token`` header. Charts are server-side SVG shown with
``chart(svg, alt)``: an ``<img>`` of a ``data:`` URI, in which no script ever runs.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from renkei.console import sessions
from renkei.console.actors import ActorNames
from renkei.console.auth import principal_of
from renkei.console.store import ConsoleSession, Stage
from renkei.core import audit, http
from renkei.core.config import normal_origin
from renkei.core.errors import UserError
from renkei.core.i18n import LANGUAGES, Translate, gettext_noop, translator
from renkei.core.members import Principal
from renkei.core.models import Role, Scope, User
from renkei.core.time import Clock

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "renkei_session"
LANG_COOKIE = "renkei_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_FIELDS = 200
ANONYMOUS_FORMS = frozenset({"/login", "/language"})  # read before anyone is signed in
NEXT_MAX_CHARS = 500
NEEDS_SCOPE = gettext_noop("this page needs the {scope} scope")
STATUS_TITLES = {403: gettext_noop("Forbidden"), 404: gettext_noop("Not found"),
                 409: gettext_noop("Not now")}

# No inline script or style anywhere; images may be data: URIs (charts, the QR code).
PAGE_CSP = (b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"form-action 'self'; frame-ancestors 'none'")
# same-origin, not the API's no-referrer: under no-referrer a browser sends "Origin: null"
# with a form, and the Origin check could not tell this site's forms from anyone's.
PAGE_HEADERS = [h for h in http.SECURITY_HEADERS
                if h[0] not in (b"content-security-policy", b"referrer-policy")] + [
    (b"content-security-policy", PAGE_CSP), (b"referrer-policy", b"same-origin")]


@dataclass(frozen=True)
class NavEntry:
    """One link of the navigation bar; shown when its domain's pages are registered."""

    key: str
    label: str
    path: str
    admin_only: bool = False


@dataclass(frozen=True)
class ConsoleState:
    """What the app keeps for the console: cookie policy, navigation, overview panels."""

    secure_cookies: bool | None  # None: as the public origin's scheme, else the request's
    nav: tuple[NavEntry, ...]
    panels: tuple[Any, ...] = ()  # renkei.console.panels.Panel, in order
    #: ``https://hub.example`` behind a TLS-terminating proxy: what browsers see as this
    #: site's origin (the Origin check compares with it; https makes cookies Secure);
    #: None: the request's own Host and scheme
    public_origin: str | None = None


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


class PageExit(Exception):  # noqa: N818  (not an error: a page's early answer)
    """Stops a page with a ready answer (a redirect to sign in, a refusal page)."""

    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__(response.status_code)


async def on_page_exit(_: Request, error: Exception) -> Response:
    assert isinstance(error, PageExit)
    return error.response


async def form_data(request: Request) -> FormData:
    """The submitted form (empty for GET); bounded in fields, the body by the app's Guard.

    Without a session cookie only the sign-in form is read: any other page answers such a
    POST with a redirect to sign in, so its body (files included) is never parsed for an
    anonymous caller. NUL characters are dropped: no text may hold one (PostgreSQL keeps
    none), and a page never needs one."""
    if request.method not in UNSAFE_METHODS:
        return FormData()
    if SESSION_COOKIE not in request.cookies and request.url.path not in ANONYMOUS_FORMS:
        return FormData()
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=10)
    items = form.multi_items()
    if not any(isinstance(value, str) and "\x00" in value for _, value in items):
        return form
    return FormData([(key, value.replace("\x00", "") if isinstance(value, str) else value)
                     for key, value in items])


Form = Annotated[FormData, Depends(form_data)]


# --- paths, languages, cookies ------------------------------------------------------------


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site (``/x?y``), else ``default``: a ``next``
    parameter never sends anyone elsewhere (``//evil``, ``https://…``, ``/\\evil``)."""
    if not value or len(value) > NEXT_MAX_CHARS or "\\" in value:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def _request_lang(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE, "")
    return kept if kept in LANGUAGES else http.language(request)


def _secure(request: Request) -> bool:
    state = console_state(request)
    if state.secure_cookies is not None:
        return state.secure_cookies
    if state.public_origin is not None:
        return state.public_origin.startswith("https://")
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict",
                           secure=_secure(request), path="/")


def set_lang_cookie(response: Response, request: Request, lang: str) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                        samesite="strict", secure=_secure(request), path="/")


def _same_origin(request: Request) -> bool:
    """The browser says the form came from this site (Origin, else Referer): the configured
    public origin, or else this request's Host (behind a proxy, the Host the proxy sent)."""
    claimed = request.headers.get("origin") or request.headers.get("referer") or ""
    if not claimed:
        return False
    parts = urlsplit(claimed[:NEXT_MAX_CHARS])
    public = console_state(request).public_origin
    if public is not None:
        return normal_origin(parts.scheme, parts.netloc) == public
    host = request.headers.get("host", "")
    return bool(host) and parts.netloc == host


# --- templates ------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    """A time as pages show it: UTC, to the minute."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def chart(svg: str, alt: str) -> Markup:
    """A server-made SVG chart as an ``<img>``: a data: URI, so nothing in it can run."""
    text = svg.strip()
    if not text.startswith("<svg"):
        raise ValueError("chart() takes an <svg> element")
    data = base64.b64encode(text.encode()).decode()
    return Markup('<img class="chart" alt="{}" src="data:image/svg+xml;base64,{}">').format(
        alt, data)


@pass_context
def actor(context: Context, value: str | None) -> str:
    """``{{ e.actor | actor }}``: a person where the value is ``user:N`` (``Page.actor``)."""
    p = context.get("p")
    return p.actor(value) if isinstance(p, PublicPage) else value or "-"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["chart"] = chart
    env.filters["when"] = when
    env.filters["actor"] = actor
    return env


# --- pages ----------------------------------------------------------------------------------


@dataclass
class PublicPage:
    """A page anyone may open (sign-in): the unit of work and the visitor's language."""

    request: Request
    session: Session
    clock: Clock
    lang: str
    t: Translate
    source: str
    cookies: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")

    def message(self, error: UserError) -> str:
        """A service's refusal in the page's language."""
        return error.translate(self.t)

    def actor(self, value: str | None) -> str:
        """An actor or target as this visitor may see it (only the signed-in know names)."""
        return value or "-"

    def context(self) -> dict[str, Any]:
        return {"_": self.t, "lang": self.lang, "p": self, "csrf": "", "nav": [],
                "user": None, "title": "", "path": self.request.url.path}

    def fragment(self, template: str, **context: Any) -> Markup:
        """A template rendered to markup, to put inside another (an overview panel)."""
        html = environment().get_template(template).render(self.context() | context)
        return Markup(html)  # noqa: S704  (an autoescaping template made it)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        response = HTMLResponse(self.fragment(template, **context), status_code=status)
        self._apply_cookies(response)
        return response

    def redirect(self, path: str) -> RedirectResponse:
        """303 to a local path (after a form, as Post/Redirect/Get wants)."""
        response = RedirectResponse(local_path(path), status_code=303)
        self._apply_cookies(response)
        return response

    def keep_session(self, cookie: str | None) -> None:
        """Set (or, with None, clear) the session cookie on the answer."""
        self.cookies.append((SESSION_COOKIE, cookie))

    def _apply_cookies(self, response: Response) -> None:
        for name, value in self.cookies:
            if name == SESSION_COOKIE and value is None:
                clear_session_cookie(response, self.request)
            elif name == SESSION_COOKIE and value is not None:
                set_session_cookie(response, self.request, value)
            elif value is not None:
                set_lang_cookie(response, self.request, value)


@dataclass
class Page(PublicPage):
    """A signed-in user's page: adds the user, their Principal and the CSRF token."""

    user: User = field(kw_only=True)
    principal: Principal = field(kw_only=True)
    row: ConsoleSession = field(kw_only=True)
    _names: ActorNames | None = field(default=None, init=False, repr=False)

    @property
    def names(self) -> ActorNames:
        """The people this page names, read once (``console.actors``)."""
        if self._names is None:
            self._names = ActorNames(self.session, self.principal, self.t)
        return self._names

    def actor(self, value: str | None) -> str:
        """``user:3`` as the signed-in user may know them: a name and e-mail address for
        the hub's staff and for one's own organisation's users, else no identity."""
        return self.names.label(value)

    @property
    def csrf(self) -> str:
        return self.row.csrf_token

    @property
    def is_admin(self) -> bool:
        """A hub administrator: the administration pages are theirs alone."""
        return self.principal.is_hub and self.principal.role is Role.HUB_ADMIN

    @property
    def opens_incidents(self) -> bool:
        """The hub's staff who may change things: the records' pages offer them to open an
        incident from the record (the incidents service checks again)."""
        return (self.principal.is_hub and Scope.SUBMIT in self.principal.scopes
                and self.principal.role in (Role.HUB_ADMIN, Role.HUB_ANALYST))

    def context(self) -> dict[str, Any]:
        state = console_state(self.request)
        nav = [e for e in state.nav if self.is_admin or not e.admin_only] \
            if self.row.stage == Stage.ACTIVE.value else []
        return super().context() | {"csrf": self.csrf, "nav": nav, "user": self.user,
                                    "opens_incidents": self.opens_incidents}

    def forbid(self, message: str) -> PageExit:
        """A 403 page saying ``message`` (translated), the refusal audited and committed:
        raise what it returns."""
        audit.record(self.session, self.clock, action="console.forbidden",
                     actor=self.principal.actor, target=self.request.url.path[:200],
                     source=self.source, organisation_id=self.principal.organisation_id)
        self.session.commit()
        return PageExit(self.render("error.html", status=403, title=self.t("Forbidden"),
                                    text=self.t(message)))

    def require_scope(self, scope: Scope) -> None:
        """Refuse (403, audited) a user whose role lacks ``scope``, as the API's ``work``."""
        if scope in self.principal.scopes:
            return
        audit.record(self.session, self.clock, action="auth.scope_refused",
                     actor=self.principal.actor, target=self.request.url.path[:200],
                     source=self.source, details={"scope": scope.value},
                     organisation_id=self.principal.organisation_id)
        self.session.commit()
        raise PageExit(self.render("error.html", status=403, title=self.t("Forbidden"),
                                   text=self.t(NEEDS_SCOPE).format(scope=scope.value)))

    def require_admin(self) -> None:
        """Refuse (403, audited) anyone but a hub administrator."""
        if not self.is_admin:
            raise self.forbid(gettext_noop("this page is for the hub's administrators"))


@contextmanager
def answered(p: Page) -> Iterator[None]:
    """A service's refusal as a page with the status the API would answer (404 for what the
    user may not see, 403 refused, 409 not now); its audit record is kept."""
    try:
        yield
    except UserError as error:
        p.session.commit()
        status = getattr(error, "status", 400)
        status = status if isinstance(status, int) and 400 <= status < 500 else 400
        raise PageExit(p.render("error.html", status=status,
                                title=p.t(STATUS_TITLES.get(status, "Bad request")),
                                text=p.message(error))) from None


def _refuse(p: PublicPage, reason: str, actor: str) -> PageExit:
    audit.record(p.session, p.clock, action="console.refused", actor=actor,
                 target=p.request.url.path[:200], source=p.source, details={"reason": reason})
    p.session.commit()
    text = gettext_noop("the form has expired or did not come from this site; open the page again")
    return PageExit(p.render("error.html", status=403, title=p.t("Forbidden"), text=p.t(text)))


def _sign_in_redirect(request: Request) -> PageExit:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login"
    if request.method == "GET" and local_path(wanted, "") not in ("", "/"):
        target += "?next=" + quote(local_path(wanted), safe="")
    return PageExit(RedirectResponse(target, status_code=303))


@contextmanager
def _unit(p: PublicPage) -> Iterator[None]:
    """Commit on success; a UserError is committed (its audit stays) and shown as a page."""
    try:
        yield
    except UserError as error:
        p.session.commit()
        raise PageExit(p.render("error.html", status=400, title=p.t("Bad request"),
                                text=p.message(error))) from None
    except BaseException:
        p.session.rollback()
        raise
    else:
        p.session.commit()


@contextmanager
def public_page(request: Request, form: FormData | None = None) -> Iterator[PublicPage]:
    """A page for visitors not (yet) signed in; a POST must come from this site."""
    state = http.state_of(request)
    with state.db.sessions() as session:
        p = PublicPage(request, session, state.clock, _request_lang(request),
                       translator(_request_lang(request)), http.source_of(request))
        if request.query_params.get("lang", "") in LANGUAGES:
            p.cookies.append((LANG_COOKIE, p.lang))
        with _unit(p):
            if request.method in UNSAFE_METHODS and not _same_origin(request):
                raise _refuse(p, "origin", "anonymous")
            yield p


def _token_of(request: Request, form: FormData | None) -> str:
    sent = form.get(CSRF_FIELD) if form is not None else None
    value = sent if isinstance(sent, str) else request.headers.get(CSRF_HEADER, "")
    return value[:100]


def _signed_in(request: Request, session: Session, clock: Clock,
               stages: tuple[Stage, ...]) -> Page:
    """The page of the user the session cookie stands for, or PageExit to /login."""
    found = sessions.resolve(session, clock, request.cookies.get(SESSION_COOKIE, ""), stages)
    if found is None:
        session.commit()  # last_seen_at, nothing else
        raise _sign_in_redirect(request)
    row, user = found
    lang = user.locale if user.locale in LANGUAGES else "en"
    return Page(request, session, clock, lang, translator(lang), http.source_of(request),
                user=user, principal=principal_of(session, user), row=row)


@contextmanager
def page(request: Request, form: FormData | None = None, *,
         stages: tuple[Stage, ...] = (Stage.ACTIVE,)) -> Iterator[Page]:
    """A signed-in user's page (see the module docstring); anyone else goes to /login."""
    state = http.state_of(request)
    with state.db.sessions() as session:
        p = _signed_in(request, session, state.clock, stages)
        row = p.row
        with _unit(p):
            if request.method in UNSAFE_METHODS and not (
                    _same_origin(request)
                    and hmac.compare_digest(_token_of(request, form), row.csrf_token)):
                raise _refuse(p, "csrf", p.principal.actor)
            yield p


def error_page(request: Request, status: int, title: str, text: str, *,
               fields: Mapping[str, object] | None = None,
               strangers_see: bool = False) -> Response:
    """An error page in the signed-in user's language, with the whole layout (an unknown
    path, a malformed id); ``text`` is a message id, formatted with ``fields``. Anyone not
    signed in is sent to sign in, exactly as from a page that exists, so that no answer
    tells a stranger which paths do; unless ``strangers_see`` (an answer every path gives
    alike, such as a body too large), when they get ``plain_error_page``. Changes nothing:
    no CSRF check is needed, whatever the method."""
    state = http.state_of(request)
    with state.db.sessions() as session:
        try:
            p = _signed_in(request, session, state.clock, (Stage.ACTIVE,))
        except PageExit as sign_in:
            session.commit()
            return (plain_error_page(request, status, title, text, fields) if strangers_see
                    else sign_in.response)
        session.commit()  # last_seen_at, nothing else
        return p.render("error.html", status=status, title=p.t(title),
                        text=p.t(text).format_map(fields) if fields else p.t(text))


def plain_error_page(request: Request, status: int, title: str, text: str,
                     fields: Mapping[str, object] | None = None) -> HTMLResponse:
    """An error page that reads no database (after a server error the database may be what
    failed): the layout without navigation, in the visitor's language (``?lang``, the
    language cookie, Accept-Language)."""
    lang = _request_lang(request)
    t = translator(lang)
    html = environment().get_template("error.html").render(
        _=t, lang=lang, p=None, csrf="", nav=[], user=None, path=request.url.path,
        title=t(title), text=t(text).format_map(fields) if fields else t(text))
    return HTMLResponse(html, status_code=status)
