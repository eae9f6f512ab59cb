"""What the plan's services refuse, each with the HTTP status the API answers it with."""

from __future__ import annotations

from typing import Any

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


class PlanDataError(PlanError):
    """A plan, comment or framework file that is not as docs/plan.md describes it.

    ``details`` (where in the file, as ``line`` and ``column``) is what the API adds to its
    error body for a program to point at; the message names the place for a person."""

    details: dict[str, Any] | None = None
