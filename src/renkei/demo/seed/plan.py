"""The demo's fiscal year of the plan: started from the shipped 2015 plan, measure
statuses over the month, this and last year's audit campaigns of every member, and a public
consultation."""

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
    """This year's campaign and last year's, so each member's results compare year on
    year (last year's outcomes are another member's pattern: some better, some worse)."""
    with ctx.database.session() as session:
        path = shipped_frameworks()[0]
        framework, _new = audits.load_framework(session, ctx.at(28), path.read_bytes(),
                                                path.name, actor=actor, source=SOURCE)
        refs = [r.ref for r in audits.requirements(session, framework.id) if not r.is_group]
        for campaign_year, days, shift in ((year - 1, 27, 2), (year, 26, 0)):
            name = data.CAMPAIGN.format(year=campaign_year)
            campaign = audits.create_campaign(
                session, ctx.at(days), name, framework.key, campaign_year,
                title=f"FY{campaign_year} baseline audit (demo)",
                organisations=[m.name for m in MEMBERS], actor=actor, source=SOURCE)
            for index, member in enumerate(MEMBERS):
                assessment = audits.get_assessment(session, campaign.name, member.name)
                for ref, outcome in data.audit_results(refs, index + shift):
                    when = ctx.at(20 - 3 * index) if shift == 0 else ctx.at(26.5 - index / 2)
                    audits.record_result(session, when, assessment, ref, outcome,
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
