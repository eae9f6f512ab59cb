"""Advisory feeds imported in batches over the month, members' assets and subscriptions."""

from __future__ import annotations

from renkei.core import orgs
from renkei.core.time import Clock, FixedClock
from renkei.demo.cast import member
from renkei.demo.data.feeds import Batch, batches, inventories
from renkei.demo.seed.context import Context
from renkei.demo.seed.orgs import ACTOR, SOURCE
from renkei.vulns import service
from renkei.vulns.alerts import register_asset, subscribe
from renkei.vulns.inventory import parse_inventory

ASSETS_DAYS_AGO = 28
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


def seed_vulns(ctx: Context) -> tuple[int, int]:
    """Every batch (the assets registered after the first); returns (records, alerts)."""
    records = alerts = 0
    for index, batch in enumerate(batches(ctx.now)):
        read, raised = _import(ctx, batch, index)
        records, alerts = records + read, alerts + raised
        if index == 0:
            alerts += _assets(ctx, ctx.at(ASSETS_DAYS_AGO))
    return records, alerts
