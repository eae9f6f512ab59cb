"""Builds the FastAPI application from each domain's routers (``renkei serve`` runs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from renkei import __version__
from renkei.console import errors as console_errors
from renkei.console import routes as console_routes
from renkei.console import web as console_web
from renkei.core import http
from renkei.core.config import Config, load_config
from renkei.core.db import Database
from renkei.core.time import Clock, SystemClock
from renkei.incidents import api as incidents_api
from renkei.logs import api as logs_api
from renkei.logs import upload
from renkei.plan import api as plan_api
from renkei.sensors import api as sensors_api
from renkei.sharing import api as sharing_api
from renkei.sharing import stix, taxii, taxii_api
from renkei.vulns import api as vulns_api
from renkei.vulns.index import IndexHolder


def create_app(config: Config | None = None, *, clock: Clock | None = None,
               validation_workers: int | None = None,
               secure_cookies: bool | None = None, warm_up: bool | None = None) -> FastAPI:
    """The app on the configured database (migrated on start), with the hub's default
    TAXII collection in place; large bundles are validated in ``validation_workers``
    processes (default: one per CPU; 1: in the serving process only). The console's
    cookies are Secure when ``secure_cookies``, or (None) when the configured public
    origin is https (``RENKEI_PUBLIC_ORIGIN``), or without one when a request came over
    https. On start, the log scanner is warmed up in the background (each ``--workers``
    process loads its rules and kernels before its first upload) when ``warm_up``, or (None)
    when the validation workers are left to their default too, as ``renkei serve`` does:
    callers that size them, the tests, build many apps and want no such work."""
    config = config or load_config()
    clock = clock or SystemClock()
    database = Database.from_config(config)
    with database.session() as session:
        taxii.ensure_default_collection(session, clock)

    warm = validation_workers is None if warm_up is None else warm_up

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            upload.warm_up_in_this_process()  # a thread: the app is ready at once
        stix.start_workers(validation_workers)
        yield
        stix.stop_workers()
        database.dispose()

    app = FastAPI(title="renkei", version=__version__, lifespan=lifespan,
                  description="The hub's REST API and TAXII 2.1 server.")
    app.state.renkei = http.AppState(db=database, clock=clock)
    app.state.vuln_index = IndexHolder(database)  # built on the first match, kept current
    app.state.smtp = config.smtp  # incident notifications sent from the API and console
    app.add_exception_handler(http.HttpError, http.on_http_error)
    app.add_exception_handler(StarletteHTTPException, http.on_starlette_error)
    app.add_exception_handler(RequestValidationError, http.on_validation_error)
    app.add_exception_handler(Exception, http.on_unexpected_error)
    app.include_router(taxii_api.router)
    app.include_router(sharing_api.router)
    app.include_router(vulns_api.router)
    app.include_router(sensors_api.router)
    app.include_router(plan_api.router)
    app.include_router(incidents_api.router)
    app.include_router(logs_api.router)
    console_routes.mount(app, secure_cookies=secure_cookies,
                         public_origin=config.public_origin or None)
    app.add_middleware(http.Guard, larger={"/api/v1/vulns/": vulns_api.MAX_INVENTORY_BYTES},
                       page_headers=console_web.PAGE_HEADERS,
                       too_large_page=console_errors.too_large_page)
    return app
