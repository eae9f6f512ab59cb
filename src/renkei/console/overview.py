"""The overview (/): the panels every domain contributes, in order (see ``panels``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console.web import console_state, page

router = APIRouter(include_in_schema=False)


@router.get("/")
def overview(request: Request) -> Response:
    with page(request) as p:
        shown = []
        for panel in sorted(console_state(request).panels, key=lambda panel: panel.order):
            body = panel.render(p)
            if body is not None:
                shown.append((p.t(panel.title), panel.key, body))
        return p.render("overview/index.html", title=p.t("Overview"), panels=shown)
