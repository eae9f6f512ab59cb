"""Who may do what with the plan's records.

Anyone authenticated may read the plan, the statuses and their evidence, the frameworks,
and the results of a published consultation. Changes — statuses, years, frameworks,
campaigns, audit results, every step of a consultation — are for the hub's staff. A
member reads its own audit assessments only; another's is answered as if it did not exist.
"""

from __future__ import annotations

from renkei.core.members import Principal
from renkei.plan.errors import PlanForbiddenError
from renkei.sharing.policy import Viewer


def is_hub_staff(principal: Principal) -> bool:
    return Viewer.of(principal).is_hub_staff


def require_hub_staff(principal: Principal) -> None:
    if not is_hub_staff(principal):
        raise PlanForbiddenError("only the hub's staff may change the plan's records")


def person(principal: Principal) -> str:
    """Who did it, for the four-eyes rule: the user when there is one (whatever token they
    used), else the token."""
    return f"user:{principal.user_id}" if principal.user_id is not None else principal.actor


def readable_organisation(principal: Principal) -> int | None:
    """Whose assessments a caller reads: every organisation's (None) for the hub's staff,
    its own for a member."""
    return None if is_hub_staff(principal) else principal.organisation_id
