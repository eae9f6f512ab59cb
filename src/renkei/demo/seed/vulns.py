"""Advisory feeds imported in batches over the month, members' assets and subscriptions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from renkei.core import orgs
from renkei.core.time import Clock, FixedClock
from renkei.demo.cast import MEMBERS, member, submitter
from renkei.demo.data.feeds import Batch, batches, inventories
from renkei.demo.seed.context import Context, principal
from renkei.demo.seed.orgs import ACTOR, SOURCE
from renkei.vulns import service
from renkei.vulns.alerts import register_asset, subscribe, suppress
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.store import Alert, Vulnerability

ASSETS_DAYS_AGO = 28
SUPPRESSION_REASON = ("the affected function is not used in our build; accepted until the "
                      "next maintenance window")
SUBSCRIPTIONS = (("digital-office", "vendor", "acme"), ("hikari-telecom", "product", "router_firmware"))


def _import(ctx: Context, batch: Batch, index: int) -> tuple[int, int]:
    folder = ctx.folder(f"feeds/batch-{index}")
    paths = []
    for name, data in batch.files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    with ctx.database.session() as session:
        result = service.import_paths(session, FixedClock(min(batch.published, ctx.now)),
                                      paths, actor=ACTOR, source=SOURCE)
    return result.read, result.alerts


def _assets(ctx: Context, clock: Clock) -> int:
    raised = 0
    with ctx.database.session() as session:
        for owner, name, text in inventories():
            read = parse_inventory(text.encode(), "inventory.txt", format="purl-list")
            org = orgs.require(session, owner.name)
            raised += register_asset(session, clock, org.id, name, read.components,
                                     read.format, actor=ACTOR, source=SOURCE)[1]
        for slug, kind, value in SUBSCRIPTIONS:
            org = orgs.require(session, member(slug).name)
            raised += subscribe(session, clock, org.id, kind, value, actor=ACTOR,
                                source=SOURCE)[1]
    return raised


def _suppression(ctx: Context) -> None:
    """The first member accepts the risk of its least pressing match, as its submitter
    would from the console, so the suppressions page has something to show."""
    with ctx.database.session() as session:
        org = orgs.require(session, MEMBERS[0].name)
        found = session.execute(
            select(Vulnerability.key, Alert.components)
            .join(Vulnerability, Vulnerability.id == Alert.vulnerability_id)
            .where(Alert.organisation_id == org.id, Alert.asset_id != 0)
            .order_by(Alert.priority, Alert.id).limit(1)).first()
        if found is None or not found.components:
            return
        clock = ctx.at(2)
        suppress(session, clock, org.id, found.key, found.components[0], "accepted_risk",
                 SUPPRESSION_REASON, clock.now() + timedelta(days=60),
                 actor=principal(session, submitter(MEMBERS[0])).actor, source=SOURCE)


def seed_vulns(ctx: Context) -> tuple[int, int]:
    """Every batch (the assets registered after the first); returns (records, alerts)."""
    records = alerts = 0
    for index, batch in enumerate(batches(ctx.now)):
        read, raised = _import(ctx, batch, index)
        records, alerts = records + read, alerts + raised
        if index == 0:
            alerts += _assets(ctx, ctx.at(ASSETS_DAYS_AGO))
    _suppression(ctx)
    return records, alerts
