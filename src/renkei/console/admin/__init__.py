"""Administration pages (/admin/…), for the hub's administrators only: organisations,
users, API tokens and the audit log. They call ``renkei.core`` services only, as the
``renkei orgs|users|tokens`` commands do, with the signed-in administrator as the actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from starlette.datastructures import FormData

from renkei.console.web import Page, page


@contextmanager
def admin_page(request: Request, form: FormData | None = None) -> Iterator[Page]:
    """``page`` for a hub administrator; anyone else gets 403 (audited)."""
    with page(request, form) as p:
        p.require_admin()
        yield p
