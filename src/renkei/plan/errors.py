"""What the plan's services refuse, each with the HTTP status the API answers it with."""

from __future__ import annotations

from renkei.core.errors import UserError


class PlanError(UserError):
    """A request about the plan's records that cannot be done as asked; says why."""

    status = 400


class PlanNotFoundError(PlanError):
    status = 404


class PlanForbiddenError(PlanError):
    status = 403


class PlanConflictError(PlanError):
    status = 409
