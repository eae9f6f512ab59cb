"""What every HTTP route shares: who is calling, one unit of work per request, bounded
bodies, error bodies, security headers.

A route does ``with work(request) as w:`` and calls domain services with ``w.session``,
``w.clock`` and ``w.principal``. Authentication happens inside that unit: a refused
credential leaves an ``auth.failed`` audit event that is committed before the 401, and a
refusal a service raises (a ``UserError``) is committed too, so its audit record stays;
services raise those before writing anything else, so nothing is half-written. Any other
error rolls the whole unit back.

Errors have the TAXII 2.1 error resource's shape on every route (``title``,
``description``, ``http_status``, ``details``), in English or, when the request prefers
it (``Accept-Language: ja``), Japanese.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from renkei.core import audit, members, orgs
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop, translator
from renkei.core.members import AuthenticationError, Principal, ScopeError
from renkei.core.models import MAX_ID as MAX_ID  # re-exported: routes bound ids with it
from renkei.core.models import Scope, User
from renkei.core.time import Clock

MAX_REQUEST_BYTES = 4 * 1024 * 1024 + 64 * 1024
TAXII_PREFIX = "/taxii2"
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"

Scope_ = dict[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]

TITLES = {
    400: gettext_noop("Bad request"),
    401: gettext_noop("Authentication required"),
    403: gettext_noop("Forbidden"),
    404: gettext_noop("Not found"),
    405: gettext_noop("Method not allowed"),
    406: gettext_noop("Not acceptable"),
    409: gettext_noop("Conflict"),
    413: gettext_noop("Request entity too large"),
    415: gettext_noop("Unsupported media type"),
    422: gettext_noop("Unprocessable entity"),
    500: gettext_noop("Internal server error"),
}


class HttpError(Exception):
    """An answer other than success: status, a message template and its fields."""

    def __init__(self, status: int, template: str, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, **fields: object) -> None:
        self.status = status
        self.template = template
        self.fields = fields
        self.details = details
        self.headers = headers or {}
        super().__init__(template.format(**fields) if fields else template)

    @classmethod
    def of(cls, error: UserError, status: int = 400) -> HttpError:
        status = getattr(error, "status", status)
        made = cls(status, error.template, details=getattr(error, "details", None))
        made.fields = dict(error.fields)
        made.args = (str(error),)
        return made


@dataclass(frozen=True)
class AppState:
    """What the app holds for its whole life: the database, the clock."""

    db: Database
    clock: Clock


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.renkei
    return state


def language(request: Request) -> str:
    """``ja`` when the request's Accept-Language puts Japanese before English."""
    for part in request.headers.get("accept-language", "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("ja"):
            return "ja"
        if tag.startswith("en"):
            return "en"
    return "en"


def source_of(request: Request) -> str:
    """Where a request came from, for the audit log."""
    client = request.client
    return f"http:{client.host}" if client else "http"


# --- what routes read and answer ------------------------------------------------------------


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time falls outside the years 1 to 9999 in UTC") from None


Instant = Annotated[datetime, AfterValidator(_in_utc)]
"""A time a request gives, as an aware UTC datetime: one without a zone is taken as UTC
(as ``core.time.as_utc`` does); one whose UTC form no datetime can hold is malformed (400),
so services never compare naive with aware times nor overflow converting."""

ZonedInstant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An ``Instant`` that must say its zone (a time without one is malformed), where a domain
will not guess: a sighting's times."""

IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A record's number in a query or body: past any id the database holds it is malformed
(400), where the database would have failed on it (PostgreSQL: integer out of range)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A record's number in a path, bounded as ``IdValue``."""


def nul_at(value: object, where: str = "") -> str | None:
    """Where in a decoded JSON value a text holds a NUL character (``""``: the value
    itself), or None: no text may, PostgreSQL keeps none."""
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return at
        elif isinstance(item, dict):
            stack.extend((v, f"{at}.{k}" if at else str(k)) for k, v in item.items())
            stack.extend((k, at) for k in item)
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
    return None


class Body(BaseModel):
    """A JSON request body: every route's body model derives from it, so that a NUL in any
    of its texts is malformed (400, naming where) before a service sees it."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = nul_at(data)
        if where is not None:
            raise ValueError(f"{where or 'a text'} holds a NUL character, which no text may")
        return data


class ErrorOut(BaseModel):
    """Every error's body: TAXII 2.1's error resource, on every route."""

    title: str
    description: str
    http_status: str
    details: dict[str, Any] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {"4XX": {
    "model": ErrorOut,
    "description": "Refused, the body says why: 400 malformed, 401 no or bad credentials, "
                   "403 not allowed, 404 absent or not yours to see, 406/415 media type, "
                   "409 not in this state, 413 too large"}}
"""Each router's ``responses``: what every operation may answer besides success (FastAPI
would otherwise document a 422 that this API never sends: malformed input is a 400)."""


# --- credentials -------------------------------------------------------------------------


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _organisation_named(session: Session, username: str) -> int:
    """The organisation HTTP Basic's user name stands for: an organisation's name, or the
    e-mail address of one of its users; -1 (no organisation) otherwise."""
    org = orgs.get_by_name(session, username)
    if org is not None:
        return org.id
    user = members.get_user(session, username) if "@" in username else None
    return user.organisation_id if user is not None else -1


def _password(session: Session, clock: Clock, username: str, password: str,
              source: str) -> Principal:
    """HTTP Basic with a password holds to the console's sign-in rules, or it would be a
    way round them on the same port: attempts count in the same throttle (429 when it is
    closed), and a user with a second factor is refused, as a password alone never opens
    what the console opens only with the code; such a user's programs take an API token.
    The refusal says no more than a wrong password does."""
    from renkei.console import throttle  # the one sign-in throttle, shared by both doors

    address = username.strip().lower()[:members.EMAIL_MAX_CHARS]
    try:
        attempt = throttle.begin_attempt(session, clock, email=address, source=source)
    except throttle.Throttled as closed:
        audit.record(session, clock, action="auth.throttled", actor="anonymous",
                     target=address, source=source, details={"by": closed.which})
        session.commit()
        raise HttpError(429, "too many failed sign-ins lately; try again later",
                        headers={"Retry-After": str(int(throttle.WINDOW.total_seconds()))},
                        ) from None
    principal = members.authenticate_password(session, clock, address, password, source=source)
    user = session.get_one(User, principal.user_id)
    if user.totp_enabled_at is not None:
        audit.record(session, clock, action="auth.failed", actor="anonymous",
                     target=f"user:{user.id}", source=source,
                     details={"method": "password", "reason": "second-factor"},
                     organisation_id=user.organisation_id)
        raise AuthenticationError
    throttle.forgive(session, attempt)
    session.commit()  # as the console does: a request that fails later keeps the forgiving
    return principal


def authenticate(session: Session, clock: Clock, request: Request) -> Principal:
    """Bearer token, or HTTP Basic with a token or a password; raises AuthenticationError."""
    header = request.headers.get("authorization", "")[:4096]
    scheme, _, value = header.partition(" ")
    source = source_of(request)
    if scheme.lower() == "bearer":
        return members.authenticate_token(session, clock, value.strip(), source=source)
    if scheme.lower() == "basic":
        username, password = _basic(value)
        if members.TOKEN_PATTERN.fullmatch(password):
            return members.authenticate_token(
                session, clock, password, source=source,
                organisation_id=_organisation_named(session, username[:254]) if username
                else None)
        return _password(session, clock, username, password, source)
    raise HttpError(401, "credentials are required: HTTP Basic or a Bearer token",
                    headers={"WWW-Authenticate": 'Basic realm="renkei"'})


@dataclass(frozen=True)
class Work:
    """One request's unit of work: its session, the caller, and where it came from."""

    session: Session
    clock: Clock
    principal: Principal
    source: str


@contextmanager
def work(request: Request, scope: Scope = Scope.READ) -> Iterator[Work]:
    """Authenticate and run one unit of work (see the module docstring)."""
    state = state_of(request)
    with state.db.sessions() as session:
        try:
            try:
                principal = authenticate(session, state.clock, request)
            except AuthenticationError:
                session.commit()
                raise HttpError(401, "invalid credentials",
                                headers={"WWW-Authenticate": 'Basic realm="renkei"'}) from None
            try:
                members.require_scope(principal, scope)
            except ScopeError:
                audit.record(session, state.clock, action="auth.scope_refused",
                             actor=principal.actor, target=request.url.path[:200],
                             source=source_of(request), details={"scope": scope.value},
                             organisation_id=principal.organisation_id)
                session.commit()
                raise HttpError(403, "this call needs the {scope} scope",
                                scope=scope.value) from None
            yield Work(session, state.clock, principal, source_of(request))
        except UserError as error:
            session.commit()  # the refusal's audit record; services wrote nothing else
            raise HttpError.of(error) from None
        except ScopeError as error:  # a service needing more than the route asked for
            session.rollback()
            raise HttpError(403, "this call needs the {scope} scope",
                            scope=error.scope.value) from None
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


def user_of(session: Session, principal: Principal) -> User | None:
    return session.get(User, principal.user_id) if principal.user_id is not None else None


# --- error bodies --------------------------------------------------------------------------


def error_response(request: Request, status: int, template: str, fields: dict[str, object],
                   details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    translate = translator(language(request))
    text = translate(template)
    body: dict[str, Any] = {
        "title": translate(TITLES.get(status, gettext_noop("Error"))),
        "description": text.format(**fields) if fields else text,
        "http_status": str(status),
    }
    if details:
        body["details"] = details
    media_type = (TAXII_MEDIA_TYPE if request.url.path.startswith(TAXII_PREFIX)
                  else "application/json")
    return Response(orjson.dumps(body), status_code=status, media_type=media_type,
                    headers=headers)


async def on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HttpError)
    return error_response(request, error.status, error.template, error.fields, error.details,
                          error.headers)


async def on_starlette_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    template = {404: gettext_noop("no such resource"),
                405: gettext_noop("this method is not allowed here")}.get(
        error.status_code, gettext_noop("the request cannot be served"))
    return error_response(request, error.status_code, template, {},
                          headers=dict(error.headers or {}))


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = [{"where": ".".join(str(p) for p in e.get("loc", ())),
                 "message": str(e.get("msg", ""))[:200]} for e in error.errors()[:20]]
    return error_response(request, 400, "the request is malformed", {},
                          {"problems": problems})


async def on_unexpected_error(request: Request, error: Exception) -> Response:
    return error_response(request, 500, "the server failed; the error is in its log", {})


# --- ASGI middleware -----------------------------------------------------------------------


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


NUL_IN_URL = gettext_noop("a URL may not hold a NUL character (%00)")

# FastAPI's interactive API pages load Swagger UI's script and style from a CDN.
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
DOCS_HEADERS = [h for h in SECURITY_HEADERS if h[0] != b"content-security-policy"]
# Paths of the API (JSON, TAXII); any other path is a console page when the app has pages.
API_PREFIXES = ("/api/", "/taxii2", "/openapi.json")


def is_api_path(path: str) -> bool:
    """The API's (JSON, TAXII, the OpenAPI document and its pages); else a console page's."""
    return path == "/api" or path.startswith(API_PREFIXES) or path in DOCS_PATHS


class Guard:
    """Bounds request bodies (413 before the route runs) and adds security headers.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer every
    response and cost a task per request on the paging path.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES,
                 larger: Mapping[str, int] | None = None,
                 page_headers: list[tuple[bytes, bytes]] | None = None,
                 too_large_page: Callable[[Request, int], Awaitable[Response]] | None = None,
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})  # path prefix -> its own bound (inventory uploads)
        self.page_headers = page_headers  # the console's (its own CSP), off the API's paths
        self.too_large_page = too_large_page  # the console's 413, off the API's paths

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path in DOCS_PATHS:
            return DOCS_HEADERS
        if self.page_headers is not None and not path.startswith(API_PREFIXES):
            return self.page_headers
        return SECURITY_HEADERS

    def _bound(self, scope: Scope_) -> int:
        path = str(scope.get("path", ""))
        return next((most for prefix, most in self.larger.items() if path.startswith(prefix)),
                    self.max_bytes)

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            # No text may hold one (PostgreSQL keeps none): refused before any route runs,
            # on the console's pages as on the API's.
            nul = error_response(Request(scope), 400, NUL_IN_URL, {})
            await nul(scope, _no_receive, _secured(send, SECURITY_HEADERS))
            return
        most = self._bound(scope)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > most):
            await self._too_large(scope, send, most)
            return
        received = 0
        too_large = False

        async def bounded_receive() -> MutableMapping[str, Any]:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > most:
                    too_large = True
                    raise HttpError(413, "the request body is larger than {most} bytes",
                                    most=most)
            return message

        headers = self._headers(str(scope.get("path", "")))
        try:
            await self.app(scope, bounded_receive, _secured(send, headers))
        except HttpError:
            if not too_large:
                raise
            await self._too_large(scope, send, most)

    async def _too_large(self, scope: Scope_, send: Send, most: int) -> None:
        request = Request(scope)
        headers = SECURITY_HEADERS
        if self.too_large_page is None or is_api_path(request.url.path):
            response = error_response(request, 413,
                                      "the request body is larger than {most} bytes",
                                      {"most": most})
        else:
            response = await self.too_large_page(request, most)
            headers = self._headers(request.url.path)
        response.headers["connection"] = "close"
        await response(scope, _no_receive, _secured(send, headers))


async def _no_receive() -> MutableMapping[str, Any]:
    return {"type": "http.disconnect"}


def _secured(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def secured_send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = list(message.get("headers") or []) + headers
        await send(message)
    return secured_send
