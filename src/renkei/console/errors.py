"""Errors on the console's paths are pages, not the API's JSON.

An unknown path, a path whose id is not a number or is past any id (``/plan/evidence/abc``,
``/vulns/feeds/99999999999999999999``) and a method a page does not take answer an HTML
page in the user's language, with the layout; a stranger is sent to sign in, as from any
page that exists. The handlers are the app's, so they see every error FastAPI raises
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

from renkei.console.web import error_page
from renkei.core import http
from renkei.core.i18n import gettext_noop

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]

NO_SUCH_PAGE = gettext_noop("there is no such page here")
MALFORMED = gettext_noop("the request is malformed")
TEXTS = {404: NO_SUCH_PAGE, 405: gettext_noop("this method is not allowed here")}
DEFAULT_TEXT = gettext_noop("the request cannot be served")


def is_console_path(path: str) -> bool:
    """Not the API's: ``/api``, ``/taxii2``, the OpenAPI document and its pages."""
    return not (path == "/api" or path.startswith(http.API_PREFIXES)
                or path in http.DOCS_PATHS)


def _status_of(error: Exception) -> tuple[int, str]:
    if isinstance(error, RequestValidationError):
        # a part of the path that is no id names no page; a bad query or form is malformed
        in_path = any(tuple(e.get("loc", ()))[:1] == ("path",) for e in error.errors())
        return (404, NO_SUCH_PAGE) if in_path else (400, MALFORMED)
    assert isinstance(error, StarletteHTTPException)
    return error.status_code, TEXTS.get(error.status_code, DEFAULT_TEXT)


def _page_or(fallback: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, error: Exception) -> Response:
        if not is_console_path(request.url.path):
            answer = fallback(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        status, text = _status_of(error)
        title = http.TITLES.get(status, gettext_noop("Error"))
        response = await run_in_threadpool(error_page, request, status, title, text)
        if isinstance(error, StarletteHTTPException) and response.status_code == status:
            response.headers.update(error.headers or {})  # a 405's Allow
        return response
    return handle


def install(app: FastAPI) -> None:
    """Put the console's pages in front of the handlers the app has for these errors."""
    for kind in (StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, _page_or(app.exception_handlers[kind]))
