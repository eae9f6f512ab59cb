"""Members' reports through the workflow (submit, sanitise, consent, publish) and the
sightings other members report of what was published."""

from __future__ import annotations

from renkei.demo.cast import ANALYST, member, submitter
from renkei.demo.data.reports import REPORTS, ReportScript
from renkei.demo.seed.context import Context, principal
from renkei.demo.seed.orgs import SOURCE
from renkei.sharing import service, sightings, taxii

#: hours after submission that each later step happens
STEP_HOURS = {"sanitised": 3.0, "approved": 8.0, "published": 20.0, "rejected": 4.0}


def _one(ctx: Context, script: ReportScript) -> int:
    """Take one report as far as its script says; returns the sightings reported."""
    stages = ("sanitised", "approved", "published")
    with ctx.database.session() as session:
        author = principal(session, submitter(script.member))
        staff = principal(session, ANALYST)
        own = script.member
        row = service.submit(session, ctx.at(script.days_ago), author, script.payload(),
                             source=SOURCE)
        if script.until == "rejected":
            service.reject(session, ctx.at(script.days_ago, STEP_HOURS["rejected"]), staff,
                           row.id, "a test, not a report", source=SOURCE)
            return 0
        reached = stages[:stages.index(script.until) + 1] if script.until in stages else ()
        published = []
        for stage in reached:
            clock = ctx.at(script.days_ago, STEP_HOURS[stage])
            if stage == "sanitised":
                service.sanitise(session, clock, staff, row.id, own_domains=[own.domain],
                                 own_networks=own.networks, staff_names=[own.staff],
                                 source=SOURCE)
            elif stage == "approved":
                service.approve(session, clock, author, row.id, source=SOURCE)
            else:
                published = service.publish(session, clock, staff, row.id, source=SOURCE)
        indicators = [r.stix_id for r in published if r.stix_type == "indicator"]
        for index, slug in enumerate(script.sighted_by if indicators else ()):
            seen = ctx.at(script.days_ago, 24.0 + 30.0 * index)
            sightings.report(session, seen, principal(session, submitter(member(slug))),
                             indicators[index % len(indicators)], count=1 + 3 * index,
                             first_seen=seen.now(), source=SOURCE)
        return len(script.sighted_by) if indicators else 0


def seed_sharing(ctx: Context) -> int:
    """Every report (oldest first) and their sightings; returns the reports."""
    with ctx.database.session() as session:
        taxii.ensure_default_collection(session, ctx.at(30))
    for script in sorted(REPORTS, key=lambda s: -s.days_ago):
        _one(ctx, script)
    return len(REPORTS)
