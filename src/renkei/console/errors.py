"""Errors on the console's paths are pages, not the API's JSON.

An unknown path, a path whose id is not a number or is past any id (``/plan/evidence/abc``,
``/vulns/feeds/99999999999999999999``) and a method a page does not take answer an HTML
page in the user's language, with the layout; a stranger is sent to sign in, as from any
page that exists. A body too large (413) is a page too, for strangers as well: every path
answers it alike, so it tells nothing of which exist. A server error (500) is a page that
reads no database (it may be what failed) and says nothing of the error, which goes to the
server's log. The handlers are the app's, so they see every error FastAPI raises
before a route runs, but they touch only the console's paths: on ``/api/…``, ``/taxii2/…``
and the API's documents they hand the error to the handler that was there before, so the
API answers exactly as it did.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from renkei.console.web import PAGE_HEADERS, error_page, plain_error_page
from renkei.core import http
from renkei.core.i18n import gettext_noop

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

NO_SUCH_PAGE = gettext_noop("there is no such page here")
MALFORMED = gettext_noop("the request is malformed")
TOO_LARGE = gettext_noop("what was sent is larger than this site takes: at most {most} bytes")
SERVER_FAILED = gettext_noop("the server failed; the error is in its log")
TEXTS = {404: NO_SUCH_PAGE, 405: gettext_noop("this method is not allowed here")}
DEFAULT_TEXT = gettext_noop("the request cannot be served")


def is_console_path(path: str) -> bool:
    """Not the API's: ``/api``, ``/taxii2``, the OpenAPI document and its pages."""
    return not http.is_api_path(path)


def _status_of(error: Exception) -> tuple[int, str]:
    if isinstance(error, RequestValidationError):
        # a part of the path that is no id names no page; a bad query or form is malformed
        in_path = any(tuple(e.get("loc", ()))[:1] == ("path",) for e in error.errors())
        return (404, NO_SUCH_PAGE) if in_path else (400, MALFORMED)
    assert isinstance(error, StarletteHTTPException)
    return error.status_code, TEXTS.get(error.status_code, DEFAULT_TEXT)


async def too_large_page(request: Request, most: int) -> Response:
    """The 413 page for a body past ``most`` bytes (the HTTP guard's, before any route)."""
    return await run_in_threadpool(error_page, request, 413, http.TITLES[413], TOO_LARGE,
                                   fields={"most": most}, strangers_see=True)


def _page_or(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        if not is_console_path(request.url.path):
            answer = fallback(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(error, http.HttpError) and error.status == 413:  # a body read too far
            return await too_large_page(request, int(str(error.fields.get("most", 0))))
        if isinstance(error, http.HttpError):
            status, text, fields = error.status, error.template, error.fields
        else:
            (status, text), fields = _status_of(error), None
        title = http.TITLES.get(status, gettext_noop("Error"))
        response = await run_in_threadpool(error_page, request, status, title, text,
                                           fields=fields)
        if response.status_code == status:
            # a 405's Allow, a 401's WWW-Authenticate
            response.headers.update(getattr(error, "headers", None) or {})
        return response
    return handle


def _server_error_or(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        if not is_console_path(request.url.path):
            answer = fallback(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        response = plain_error_page(request, 500, http.TITLES[500], SERVER_FAILED)
        # this answer passes no middleware (Starlette sends it from the outermost one)
        for name, value in PAGE_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response
    return handle


def install(app: FastAPI) -> None:
    """Put the console's pages in front of the handlers the app has for these errors."""
    for kind in (StarletteHTTPException, RequestValidationError, http.HttpError):
        if kind in app.exception_handlers:
            app.add_exception_handler(kind, _page_or(app.exception_handlers[kind]))
    if Exception in app.exception_handlers:
        app.add_exception_handler(Exception, _server_error_or(app.exception_handlers[Exception]))
