"""What the plan's console pages share: form fields and uploads read within bounds, and the
staff-only checks, which are the API's (``plan.access``): reading needs a signed-in user,
changing needs the hub's staff and the submit scope. A refusal is a 403, audited as the
administration pages' refusals are."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from renkei.console.forms import line
from renkei.console.web import Page
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.models import Scope
from renkei.plan import access
from renkei.plan.errors import PlanError

HUB_ONLY = gettext_noop("only the hub's staff may do this")
NEEDS_SUBMIT = gettext_noop("your role may read but not change this")
NO_FILE = gettext_noop("choose a file to upload")


class UploadTooLargeError(PlanError):
    """An uploaded file past its bound, refused before any service reads it."""

    status = 413


def status_of(error: UserError) -> int:
    """The HTTP status a refusal is shown with: the plan's errors carry the API's."""
    status = getattr(error, "status", 400)
    return status if isinstance(status, int) else 400


def require_staff(p: Page) -> None:
    """Pages that show what only the hub's staff read (drafts, unpublished comments)."""
    if not access.is_hub_staff(p.principal):
        raise p.forbid(HUB_ONLY)


def require_changer(p: Page) -> None:
    """The API's ``_changing`` and ``_hub``: the submit scope and the hub's staff."""
    require_staff(p)
    if Scope.SUBMIT not in p.principal.scopes:
        raise p.forbid(NEEDS_SUBMIT)


def may_change(p: Page) -> bool:
    return access.is_hub_staff(p.principal) and Scope.SUBMIT in p.principal.scopes


def not_found(p: Page, error: UserError) -> Response:
    return p.render("error.html", status=404, title=p.t("Not found"), text=p.message(error))


def upload(form: FormData, field: str, limit: int, *, required: bool = True,
           ) -> tuple[str, bytes] | None:
    """The file sent in ``field``: its base name and at most ``limit`` bytes. Larger is
    refused (413) without reading the rest; nothing sent is refused when ``required``."""
    sent = form.get(field)
    if not isinstance(sent, UploadFile) or not sent.filename:
        if required:
            raise PlanError(NO_FILE)
        return None
    name = line(sent.filename.replace("\\", "/").rsplit("/", 1)[-1]) or "upload"
    data = sent.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError("{file}: more than {limit} bytes", file=name, limit=limit)
    if not data and required:
        raise PlanError(NO_FILE)
    return name, data
