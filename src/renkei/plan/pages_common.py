"""What the plan's console pages share: form fields and uploads read within bounds, and the
staff-only checks, which are the API's (``plan.access``): reading needs a signed-in user,
changing needs the hub's staff and the submit scope. A refusal is a 403, audited as the
administration pages' refusals are."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from renkei.console.web import Page, PageExit
from renkei.core import audit
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.models import Scope
from renkei.plan import access
from renkei.plan.errors import PlanError

MAX_PAGES = 200
HUB_ONLY = gettext_noop("only the hub's staff may do this")
NEEDS_SUBMIT = gettext_noop("your role may read but not change this")
NO_FILE = gettext_noop("choose a file to upload")


class UploadTooLargeError(PlanError):
    """An uploaded file past its bound, refused before any service reads it."""

    status = 413


def text(value: object, most: int = 200) -> str:
    """A free-text field, cut at ``most`` characters (the services check the rest)."""
    return value[:most] if isinstance(value, str) else ""


def line(value: object, most: int = 200) -> str:
    """A name, id or query parameter, its control characters dropped (PostgreSQL refuses
    a NUL; nothing one-line needs the others)."""
    return "".join(ch for ch in text(value, most) if ch.isprintable())


def number(given: str | None, default: int, low: int = 1, high: int = MAX_PAGES) -> int:
    """A whole number in [low, high], else ``default``."""
    try:
        value = int(given or "")
    except ValueError:
        return default
    return value if low <= value <= high else default


def status_of(error: UserError) -> int:
    """The HTTP status a refusal is shown with: the plan's errors carry the API's."""
    status = getattr(error, "status", 400)
    return status if isinstance(status, int) else 400


def forbid(p: Page, message: str) -> PageExit:
    """403, audited as the administration pages' refusals are."""
    audit.record(p.session, p.clock, action="console.forbidden", actor=p.principal.actor,
                 target=p.request.url.path[:200], source=p.source,
                 organisation_id=p.principal.organisation_id)
    p.session.commit()
    return PageExit(p.render("error.html", status=403, title=p.t("Forbidden"),
                             text=p.t(message)))


def require_staff(p: Page) -> None:
    """Pages that show what only the hub's staff read (drafts, unpublished comments)."""
    if not access.is_hub_staff(p.principal):
        raise forbid(p, HUB_ONLY)


def require_changer(p: Page) -> None:
    """The API's ``_changing`` and ``_hub``: the submit scope and the hub's staff."""
    require_staff(p)
    if Scope.SUBMIT not in p.principal.scopes:
        raise forbid(p, NEEDS_SUBMIT)


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
