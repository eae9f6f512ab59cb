"""Tables of the vulns domain; only this module and ``vulns.ingest`` write them.

One row per source record (``vuln_records``: an OSV entry, an NVD CVE, a JVNDB entry …)
holding that source's own data, and one row per vulnerability (``vulnerabilities``) that
records about the same CVE are linked to — a JVNDB entry naming three CVEs links to three.
The columns matchers look up by (package name, CPE vendor/product) are kept apart from
the records' JSON so a match reads only the records that can concern an inventory.

The lookup tables (``LOOKUP_TABLES``) carry no foreign keys: only the import writes them,
with the ids it has just written, and checking each of their millions of rows against its
parent cost a quarter of PostgreSQL's time in a large import (migration 0011). Nothing
deletes a record or a vulnerability; code that ever does must delete their lookup rows
too, as ``ingest`` does before it rewrites a changed record's.
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

    vulnerability_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class VulnAlias(Base):
    """Every id a record goes by (its own and its aliases), to find it by any of them."""

    __tablename__ = "vuln_aliases"

    alias: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class AffectedName(Base):
    """A package a record names (OSV ecosystem and normalised name): what a match looks up."""

    __tablename__ = "vuln_affected_names"
    __table_args__ = (Index("ix_vuln_affected_names_lookup", "ecosystem", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    ecosystem: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(ID_LENGTH))


class AffectedProduct(Base):
    """A (vendor, product) a record's CPE criteria or product list names."""

    __tablename__ = "vuln_affected_products"
    __table_args__ = (Index("ix_vuln_affected_products_lookup", "vendor", "product"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    vendor: Mapped[str] = mapped_column(String(ID_LENGTH))
    product: Mapped[str] = mapped_column(String(ID_LENGTH))


# rows keyed to a record (``record_id``), written by the import alone and without foreign
# keys: whatever deletes records deletes these rows of theirs first
LOOKUP_TABLES: tuple[type[VulnLink | VulnAlias | AffectedName | AffectedProduct], ...] = (
    VulnLink, VulnAlias, AffectedName, AffectedProduct)


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


class Asset(Base):
    """A member's registered inventory (an SBOM, a lock file, a list of products): its
    components are replaced when the member registers it again under the same name."""

    __tablename__ = "vuln_assets"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AssetComponent(Base):
    """One component of an asset, as the inventory named it."""

    __tablename__ = "vuln_asset_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("vuln_assets.id", ondelete="CASCADE"),
                                          index=True)
    given: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    purl: Mapped[str | None] = mapped_column(Text, nullable=True)
    cpe: Mapped[str | None] = mapped_column(Text, nullable=True)
    ecosystem: Mapped[str | None] = mapped_column(String(60), nullable=True)
    name: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")


class Suppression(Base):
    """A member's decision that a vulnerability does not concern a component (a false
    positive) or is accepted: with a reason and an expiry, after which alerts show again.
    ``component`` is the component as given, or "*" for every component."""

    __tablename__ = "vuln_suppressions"
    __table_args__ = (UniqueConstraint("organisation_id", "vulnerability", "component"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    vulnerability: Mapped[str] = mapped_column(String(ID_LENGTH))
    component: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # false_positive | accepted_risk
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Subscription(Base):
    """A member's wish to hear of advisories about a product, a vendor or a keyword, also
    before any CVE exists for it."""

    __tablename__ = "vuln_subscriptions"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | vendor | keyword
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Alert(Base):
    """A vulnerability that concerns a member: through an asset's components, or through a
    subscription. One per (member, asset or subscription, vulnerability), never twice:
    a later change of the vulnerability updates it (``updated_at``) instead."""

    __tablename__ = "vuln_alerts"
    __table_args__ = (
        UniqueConstraint("organisation_id", "asset_id", "subscription_id", "vulnerability_id"),
        Index("ix_vuln_alerts_feed", "organisation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: through a subscription
    subscription_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: through an asset
    vulnerability_id: Mapped[int] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), index=True)
    priority: Mapped[float] = mapped_column(Float)
    cvss: Mapped[float | None] = mapped_column(Float, nullable=True)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)
    epss: Mapped[float | None] = mapped_column(Float, nullable=True)
    certain: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str] = mapped_column(Text, default="")
    components: Mapped[list[str]] = mapped_column(JSON)
    why: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CvdCase(Base):
    """A vulnerability reported to the hub by a finder, coordinated with the product's
    vendor until publication (the 届出 scheme). ``state`` follows the newest event; the
    events are the record. The finder's identity is read by the hub's staff only."""

    __tablename__ = "vuln_cvd_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    finder_name: Mapped[str] = mapped_column(String(200))
    finder_contact: Mapped[str] = mapped_column(String(200))
    vendor_contact: Mapped[str] = mapped_column(String(200), default="")
    cve: Mapped[str | None] = mapped_column(String(40), nullable=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    publication_date: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CvdEvent(Base):
    """One step of a case, appended and never changed."""

    __tablename__ = "vuln_cvd_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("vuln_cvd_cases.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(30))  # the case's state after this event
