"""Tables of the vulns domain; only this module and ``vulns.ingest`` write them.

One row per source record (``vuln_records``: an OSV entry, an NVD CVE, a JVNDB entry …)
holding that source's own data, and one row per vulnerability (``vulnerabilities``) that
records about the same CVE are linked to — a JVNDB entry naming three CVEs links to three.
The columns matchers look up by (package name, CPE vendor/product) are kept apart from
the records' JSON so a match reads only the records that can concern an inventory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from renkei.core.models import Base

ID_LENGTH = 200


class VulnRecord(Base):
    """One source's record; (source, record_id) is unique. ``digest`` is the SHA-256 of the
    record as read, so re-importing the same record writes nothing."""

    __tablename__ = "vuln_records"
    __table_args__ = (UniqueConstraint("source", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    modified: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    published: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawn: Mapped[datetime | None] = mapped_column(nullable=True)
    title: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), default="en")
    digest: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # the record as JSON text (``ingest.record_json``)
    imported_at: Mapped[datetime]


class Vulnerability(Base):
    """A flaw as the hub knows it: keyed by its CVE id, or by a record's own id when no CVE
    names it (yet)."""

    __tablename__ = "vulnerabilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    first_seen: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class VulnLink(Base):
    """Which records are about which vulnerability."""

    __tablename__ = "vuln_links"

    vulnerability_id: Mapped[int] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), primary_key=True, index=True)


class VulnAlias(Base):
    """Every id a record goes by (its own and its aliases), to find it by any of them."""

    __tablename__ = "vuln_aliases"

    alias: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), primary_key=True, index=True)


class AffectedName(Base):
    """A package a record names (OSV ecosystem and normalised name): what a match looks up."""

    __tablename__ = "vuln_affected_names"
    __table_args__ = (Index("ix_vuln_affected_names_lookup", "ecosystem", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), index=True)
    ecosystem: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(ID_LENGTH))


class AffectedProduct(Base):
    """A (vendor, product) a record's CPE criteria or product list names."""

    __tablename__ = "vuln_affected_products"
    __table_args__ = (Index("ix_vuln_affected_products_lookup", "vendor", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), index=True)
    vendor: Mapped[str] = mapped_column(String(ID_LENGTH))
    product: Mapped[str] = mapped_column(String(ID_LENGTH))


class KevEntryRow(Base):
    """CISA KEV: a CVE known to be exploited."""

    __tablename__ = "vuln_kev"

    cve: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    date_added: Mapped[datetime]
    due_date: Mapped[datetime | None] = mapped_column(nullable=True)
    ransomware: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class EpssRow(Base):
    """FIRST EPSS: the newest score of a CVE."""

    __tablename__ = "vuln_epss"

    cve: Mapped[str] = mapped_column(String(40), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    scored_on: Mapped[datetime | None] = mapped_column(nullable=True)


class FeedImport(Base):
    """One `renkei vulns import` run: what it read, added, changed and could not read."""

    __tablename__ = "vuln_feed_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    paths: Mapped[list[str]] = mapped_column(JSON)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


class FeedProblemRow(Base):
    """A record an import could not read (the first few thousand of a run are kept)."""

    __tablename__ = "vuln_feed_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("vuln_feed_imports.id", ondelete="CASCADE"), index=True)
    location: Mapped[str] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    message: Mapped[str] = mapped_column(Text)
