"""The demo's fiscal year of the plan: started from the shipped 2015 plan, measure
statuses over the month, an audit campaign of every member, and a public consultation."""

from __future__ import annotations

from renkei.core import orgs
from renkei.demo.cast import ADMIN, ANALYST, MEMBERS
from renkei.demo.data import plan as data
from renkei.demo.seed.context import Context, principal
from renkei.demo.seed.orgs import SOURCE
from renkei.plan import audits, consultation, status
from renkei.plan.access import person
from renkei.plan.frameworks import shipped_frameworks


def _statuses(ctx: Context, year: int, actor: str) -> int:
    with ctx.database.session() as session:
        status.start_year(session, ctx.at(30), year, status.SHIPPED_YEAR, actor=actor,
                          source=SOURCE)
        changes = data.status_changes(status.plan_for_year(session, year))
        for change in changes:
            status.set_status(session, ctx.at(change.days_ago), change.measure_id, year,
                              change.status, note=change.note,
                              links=[change.link] if change.link else [], actor=actor,
                              source=SOURCE)
    return len(changes)


def _audit(ctx: Context, year: int, actor: str) -> None:
    with ctx.database.session() as session:
        path = shipped_frameworks()[0]
        framework, _new = audits.load_framework(session, ctx.at(27), path.read_bytes(),
                                                path.name, actor=actor, source=SOURCE)
        name = data.CAMPAIGN.format(year=year)
        campaign = audits.create_campaign(session, ctx.at(26), name, framework.key, year,
                                          title=f"FY{year} baseline audit (demo)",
                                          organisations=[m.name for m in MEMBERS],
                                          actor=actor, source=SOURCE)
        refs = [r.ref for r in audits.requirements(session, framework.id) if not r.is_group]
        for index, member in enumerate(MEMBERS):
            assessment = audits.get_assessment(session, campaign.name, member.name)
            for ref, outcome in data.audit_results(refs, index):
                audits.record_result(session, ctx.at(20 - 3 * index), assessment, ref, outcome,
                                     evidence="Interview and document review (demo).",
                                     actor=actor, source=SOURCE)


def _consultation(ctx: Context, year: int, drafter: str, approver: str) -> None:
    key = data.CONSULTATION.format(year=year)
    with ctx.database.session() as session:
        consultation.create(session, ctx.at(25), key, f"Public comments on the FY{year} "
                            "plan (demo)", year, actor=drafter, source=SOURCE)
        consultation.import_comments(session, ctx.at(24), key, data.comments_csv(),
                                     "comments.csv", actor=drafter, source=SOURCE)
        for comment in data.COMMENTS:
            days = 20 - comment.number
            consultation.categorise(session, ctx.at(days), key, comment.number,
                                    comment.category, actor=drafter, source=SOURCE)
            if comment.answer:
                consultation.draft(session, ctx.at(days, 2), key, comment.number,
                                   comment.answer, actor=drafter, source=SOURCE)
            if comment.approved:
                consultation.approve(session, ctx.at(days - 1), key, comment.number,
                                     actor=approver, source=SOURCE)


def seed_plan(ctx: Context) -> int:
    """The year, its statuses, the audit and the consultation; returns the statuses set."""
    year = data.fiscal_year(ctx.now)
    with ctx.database.session() as session:
        analyst = person(principal(session, ANALYST))
        admin = person(principal(session, ADMIN))
        assert orgs.hub(session) is not None
    count = _statuses(ctx, year, analyst)
    _audit(ctx, year, admin)
    _consultation(ctx, year, analyst, admin)
    return count
