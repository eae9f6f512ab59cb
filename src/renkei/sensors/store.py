"""Tables of the sensors domain; only this module and ``sensors.service`` write them.

A sensor watches address blocks at a site for an owner organisation; ``address_count`` is
its IPv4 addresses (the blocks collapsed), by which every figure is normalised. Members
register the address space they answer for (CIDR ranges, AS numbers) to receive their
own notifications.

An ingest run keeps what it read: one row per capture file (with its SHA-256, so the same
file is never counted twice for a sensor), the problems met, the time series and the
findings. Raw packets are not kept. The series is kept per run, one row per (bucket,
width, sensor, protocol, port, run): packets add up across runs, unique sources do not (a
source seen in two runs is one source), so a query sums packets and takes the largest
per-run source count, a lower bound that is exact when one run covers the bucket — it
says so (``sources_exact``). See docs/sensors.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from renkei.core.models import Base

NAME_MAX = 100
SITE_MAX = 200


class Sensor(Base):
    """A darknet sensor: its unique name, site, owner organisation and watched blocks."""

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    site: Mapped[str] = mapped_column(String(SITE_MAX), default="")
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    blocks: Mapped[list[str]] = mapped_column(JSON)     # CIDR text, IPv4 and IPv6
    address_count: Mapped[int] = mapped_column(BigInteger)  # IPv4 addresses, blocks collapsed
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MemberRange(Base):
    """Address space a member answers for: a CIDR range (``kind`` "cidr") or an AS number
    (``kind`` "asn", ``value`` "AS64500"). One owner per exact range; nested ranges of
    different members are allowed and the most specific one is notified."""

    __tablename__ = "sensor_member_ranges"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime]


class IngestRun(Base):
    """One `renkei sensors ingest`: when, by whom, and its counts."""

    __tablename__ = "sensor_ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    bucket_s: Mapped[int] = mapped_column(Integer)
    paths: Mapped[list[str]] = mapped_column(JSON)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


class IngestFile(Base):
    """A capture a run read for a sensor; (sensor, digest) is unique, so a file given again
    is skipped instead of counted twice."""

    __tablename__ = "sensor_ingest_files"
    __table_args__ = (UniqueConstraint("sensor_id", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sensor_ingest_runs.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensors.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    packets: Mapped[int] = mapped_column(BigInteger)
    skipped: Mapped[int] = mapped_column(BigInteger)
    truncated: Mapped[bool]


class IngestProblem(Base):
    """Where a capture stopped making sense (file, byte offset, record) or could not be read."""

    __tablename__ = "sensor_ingest_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sensor_ingest_runs.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    record: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(Text)


class SeriesRow(Base):
    """Packets and unique sources of one bucket at one sensor, protocol and port, as one
    run counted them (see the module text for why per run)."""

    __tablename__ = "sensor_series"
    __table_args__ = (Index("ix_sensor_series_lookup", "sensor_id", "port", "bucket"),)

    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    width: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), primary_key=True)
    proto: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    port: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sensor_ingest_runs.id", ondelete="CASCADE"), primary_key=True, index=True)
    packets: Mapped[int] = mapped_column(BigInteger)
    sources: Mapped[int] = mapped_column(BigInteger)
    research_packets: Mapped[int] = mapped_column(BigInteger)
    research_sources: Mapped[int] = mapped_column(BigInteger)


class FindingRow(Base):
    """A scanner, backscatter victim, rise or campaign as a run found it. ``port`` is the
    first of ``ports`` (for lookups); ``sensors`` lists sensor ids (campaigns span several);
    ``details`` keeps the rest of the finding (class, bytes, rates, baseline …)."""

    __tablename__ = "sensor_findings"
    __table_args__ = (
        Index("ix_sensor_findings_kind_last", "kind", "last"),
        Index("ix_sensor_findings_port", "port", "last"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sensor_ingest_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    src: Mapped[str | None] = mapped_column(String(45), nullable=True, index=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ports: Mapped[list[int]] = mapped_column(JSON)
    protocol: Mapped[str] = mapped_column(String(10))
    fingerprints: Mapped[list[str]] = mapped_column(JSON)
    labels: Mapped[list[str]] = mapped_column(JSON)
    packets: Mapped[int] = mapped_column(BigInteger)
    first: Mapped[datetime]
    last: Mapped[datetime]
    sensor_id: Mapped[int | None] = mapped_column(
        ForeignKey("sensors.id", ondelete="CASCADE"), nullable=True, index=True)
    sensors: Mapped[list[int]] = mapped_column(JSON)
    rate_pps: Mapped[float] = mapped_column(Float, default=0.0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
