"""A matcher compiled over the whole store, kept by a long-running process (``renkei serve``).

A one-shot match reads, decodes and compiles the records an inventory names: tens of
seconds for a large inventory against a quarter-million CVEs, all of it spent before the
first comparison. A server answers many matches, so it compiles every record once, with
the facts findings need (links, aliases, KEV, EPSS), and answers from memory. The index
knows which state of the store it was built from (the finished imports); a request on a
store that has changed since is answered the one-shot way while a fresh index is built
in the background, so an answer is never staler than the store.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core.db import Database
from renkei.core.memory import keep_long_lived, paused_gc
from renkei.vulns.ingest import load_advisory
from renkei.vulns.match import Matcher
from renkei.vulns.model import Advisory, Component
from renkei.vulns.service import Annotations, Finding, RecordFacts, assemble_rows
from renkei.vulns.store import (
    EpssRow,
    FeedImport,
    KevEntryRow,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

log = logging.getLogger(__name__)

#: Records decoded per query while building: bounds the memory of one fetch.
BUILD_CHUNK = 5_000
THAW_EVERY = 200  # matches between full collections of what their freezes kept (~1 s each)
_MATCHES = itertools.count(1)


def store_version(session: Session) -> tuple[int, int]:
    """Which finished imports the store holds: (how many, the newest id). Counting as well
    as taking the newest tells apart two imports that finish out of order."""
    count, newest = session.execute(
        select(func.count(FeedImport.id), func.max(FeedImport.id))
        .where(FeedImport.finished_at.is_not(None))).one()
    return int(count), int(newest or 0)


@dataclass(frozen=True)
class ResidentIndex:
    """Every held record compiled, with what findings take from the store."""

    version: tuple[int, int]
    matcher: Matcher
    facts: dict[str, RecordFacts]
    notes: Annotations
    build_seconds: float

    @classmethod
    def build(cls, session: Session) -> ResidentIndex:
        """Read the whole store, the version first: a record committed meanwhile is in the
        index but changes the version it is checked against, so such an index is rebuilt,
        never answered from stale (on PostgreSQL each statement sees its own snapshot)."""
        started = time.perf_counter()
        version = store_version(session)
        links: dict[int, list[str]] = defaultdict(list)
        for record_id, key in session.execute(
                select(VulnLink.record_id, Vulnerability.key)
                .join(Vulnerability, Vulnerability.id == VulnLink.vulnerability_id)):
            links[record_id].append(key)
        aliases: dict[str, set[str]] = defaultdict(set)
        for key, alias in session.execute(
                select(Vulnerability.key, VulnAlias.alias)
                .join(VulnLink, VulnLink.vulnerability_id == Vulnerability.id)
                .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)):
            aliases[key].add(alias)
        kev = set(session.scalars(select(KevEntryRow.cve)))
        epss: dict[str, float] = dict(session.execute(select(EpssRow.cve, EpssRow.epss)).all())
        notes = Annotations(dict(aliases), kev, epss)
        facts: dict[str, RecordFacts] = {}

        def advisories() -> Iterator[Advisory]:
            rows = session.execute(
                select(VulnRecord.id, VulnRecord.data).where(VulnRecord.withdrawn.is_(None))
                .execution_options(yield_per=BUILD_CHUNK))
            for row_id, data in rows:
                advisory = load_advisory(data)
                facts[f"{advisory.source.value}:{advisory.id}"] = RecordFacts.of(
                    advisory, links.get(row_id, [advisory.id]), notes)
                yield advisory

        with paused_gc():
            notes.summarise_all()  # once here, not a few thousand in each match
            matcher = Matcher(advisories())
        return cls(version, matcher, facts, notes, time.perf_counter() - started)

    def findings(self, components: Sequence[Component]) -> list[Finding]:
        """The same findings as ``service.match_components`` on the store it was built from.

        Tens of thousands of findings, each with its lists, are made with the collector
        paused; once it is back, its next young and middle collections would each walk
        them all — on a busy host a third of a second apiece, as much as the match. They
        hold no cycles and reference counting frees them, so they are frozen instead: the
        collector skips them. What else was young at that moment is frozen with them; a
        cycle among that (another thread's garbage) waits for the next index build, or for
        every ``THAW_EVERY``-th match, which thaws and collects everything once
        (``keep_long_lived``), so such garbage stays bounded in a long-running server."""
        with paused_gc():  # the hits are dropped before the collector is back
            found = assemble_rows(components, self.matcher.match_rows(components), self.facts,
                                  self.notes)
            if next(_MATCHES) % THAW_EVERY == 0:
                keep_long_lived()
            else:
                gc.freeze()
        return found


class IndexHolder:
    """Keeps a process's ResidentIndex current: built in a background thread when the
    store's version differs from the held index's, and used only while they agree."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._index: ResidentIndex | None = None
        self._building: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failures = 0

    def current(self, session: Session) -> ResidentIndex | None:
        """The index if it reflects the store ``session`` sees; otherwise None, and a
        rebuild is started (unless one is running)."""
        version = store_version(session)
        index = self._index
        if index is not None and index.version == version:
            return index
        self.refresh()
        return None

    def refresh(self) -> threading.Thread:
        """Start building a fresh index unless a build is already running."""
        with self._lock:
            if self._building is None or not self._building.is_alive():
                self._building = threading.Thread(target=self._build, name="renkei-vuln-index",
                                                  daemon=True)
                self._building.start()
            return self._building

    def _build(self) -> None:
        try:
            with self._database.session() as session:
                index = ResidentIndex.build(session)
        except Exception:  # a failed build leaves the one-shot path answering; say why once
            self.failures += 1
            log.exception("building the resident vulnerability index failed")
            return
        self._index = index
        keep_long_lived()
        log.info("resident vulnerability index: %d records in %.1f s",
                 len(index.facts), index.build_seconds)


def match_components(holder: IndexHolder | None, session: Session,
                     components: Sequence[Component]) -> list[Finding]:
    """From the resident index when it is current, else the one-shot way (same answer)."""
    index = holder.current(session) if holder is not None else None
    if index is not None:
        return index.findings(components)
    from renkei.vulns import service

    return service.match_components(session, components)
