"""The plan's demo year: measure statuses, an audit campaign's results and public comments.

The year is the fiscal year ``now`` falls in (April to March), started from the shipped
2015 plan; a spread of its measures get statuses over the month, with notes and links.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from renkei.plan.model import AuditOutcome, Category, Plan, Status

#: every ``STRIDE``-th measure gets a status, cycling through these
STATUS_CYCLE = (Status.IN_PROGRESS, Status.DONE, Status.IN_PROGRESS, Status.DELAYED,
                Status.DONE, Status.IN_PROGRESS, Status.PLANNED, Status.DONE,
                Status.IN_PROGRESS, Status.DROPPED)
STRIDE = 4
NOTES = {
    Status.IN_PROGRESS: "Work started; the first deliverables are in review.",
    Status.DONE: "Completed; the evidence is linked.",
    Status.DELAYED: "Delayed: the procurement took longer than planned.",
    Status.PLANNED: "Scheduled for the second half of the year.",
    Status.DROPPED: "Merged into another measure.",
}
CAMPAIGN = "fy{year}-baseline-audit-demo"
CONSULTATION = "fy{year}-plan-comments-demo"
OUTCOMES = (AuditOutcome.COMPLIANT, AuditOutcome.COMPLIANT, AuditOutcome.PARTIAL,
            AuditOutcome.NON_COMPLIANT, AuditOutcome.COMPLIANT, AuditOutcome.NOT_APPLICABLE)


def fiscal_year(now: datetime) -> int:
    """The Japanese fiscal year (April to March) that ``now`` falls in."""
    return now.year if now.month >= 4 else now.year - 1


@dataclass(frozen=True)
class StatusChange:
    measure_id: str
    status: Status
    note: str
    days_ago: float
    link: str = ""


def status_changes(plan: Plan) -> list[StatusChange]:
    """Statuses for every ``STRIDE``-th measure, oldest first; a done one links evidence."""
    out = []
    chosen = plan.measures()[::STRIDE]
    for index, measure in enumerate(chosen):
        status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
        link = (f"https://plan.demo.example/evidence/{index}" if status is Status.DONE
                else "")
        out.append(StatusChange(measure.id, status, NOTES[status],
                                28.0 - 27.0 * index / max(1, len(chosen) - 1), link))
    return out


def audit_results(requirements: list[str], member_index: int) -> list[tuple[str, AuditOutcome]]:
    """A member's results: most requirements, outcomes varying by member."""
    return [(ref, OUTCOMES[(i + member_index) % len(OUTCOMES)])
            for i, ref in enumerate(requirements) if (i + member_index) % 5 != 4]


@dataclass(frozen=True)
class PublicComment:
    number: int
    submitter: str
    summary: str
    category: Category
    answer: str
    approved: bool


COMMENTS = (
    PublicComment(1, "Japan Demo Bankers Association", "Support the joint exercises with "
                  "the financial sector; please extend them to smaller banks.",
                  Category.SUPPORT, "The exercises will invite regional banks.", True),
    PublicComment(2, "個人（デモ）", "The measures on IoT devices should name a deadline.",
                  Category.AMENDMENT, "A deadline was added to the measure.", True),
    PublicComment(3, "Demo Telecom Council", "Share darknet observations with ISPs weekly.",
                  Category.POLICY, "Weekly notices to members are planned.", True),
    PublicComment(4, "Demo Security Vendors Forum", "Publish vulnerability alerts in "
                  "machine-readable form.", Category.POLICY,
                  "Alerts are published as OSV and CSAF.", True),
    PublicComment(5, "個人（デモ）", "Explain the plan in plain words for citizens.",
                  Category.OTHER, "A summary for citizens will be published.", False),
    PublicComment(6, "Demo Cloud Users Group", "Add cloud services to the audit baseline.",
                  Category.AMENDMENT, "", False),
)


def comments_csv(comments: tuple[PublicComment, ...] = COMMENTS) -> bytes:
    """The comments as received (number, submitter, summary), a CSV file's bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "submitter", "summary"])
    for comment in comments:
        writer.writerow([comment.number, comment.submitter, comment.summary])
    return out.getvalue().encode()
