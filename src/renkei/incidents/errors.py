"""The incidents domain's one error: what cannot be done, and the HTTP status it answers."""

from __future__ import annotations

from renkei.core.errors import UserError


class IncidentError(UserError):
    """A request about an incident that cannot be done; ``status`` is the HTTP status an
    API answers with (400 malformed, 403 refused, 404 unseen, 409 not now)."""

    def __init__(self, template: str, *, status: int = 400, **fields: object) -> None:
        self.status = status
        super().__init__(template, **fields)
