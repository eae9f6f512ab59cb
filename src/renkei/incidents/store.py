"""Tables of the incidents domain; only the incidents modules write them.

An incident's history is ``incident_events``: appended, never changed or deleted (the ORM
refuses it, see ``_refuse_change``). ``incidents.status``, ``severity`` and
``assignee_id`` repeat the newest event of their kind so that lists and SLA checks are one
query; timings and metrics are computed from the events.

Webhook secrets are kept as given: a receiver checks an HMAC made with the very secret, so
the hub must be able to use it (a hash would not do). It is shown once, when made, and
never again by the CLI or the API (docs/incidents.md, "Webhooks").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from renkei.core.models import Base

TITLE_MAX = 300
TEXT_MAX = 20_000
REF_MAX = 500


class Incident(Base):
    """A security incident the hub handles for one or more member organisations."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    tlp: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    source_kind: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(REF_MAX), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(nullable=True)
    detected_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class IncidentOrganisation(Base):
    """A member organisation an incident affects: it reads the incident and is notified."""

    __tablename__ = "incident_organisations"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True)


class IncidentEvent(Base):
    """One thing that happened to an incident; appended, never changed."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # the incident's status after this event
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


@event.listens_for(IncidentEvent, "before_update")
@event.listens_for(IncidentEvent, "before_delete")
def _refuse_change(_mapper: Mapper[Any], _connection: Connection, target: IncidentEvent) -> None:
    raise PermissionError(f"incident event {target.id} is history: it is never changed")


class IncidentTask(Base):
    """Something to do about an incident; done once, recorded as an event too."""

    __tablename__ = "incident_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class IncidentLink(Base):
    """A record an incident came from or is evidenced by: ``kind`` and its id there (a
    logs alert's number, a shared object's STIX id …), or a free reference."""

    __tablename__ = "incident_links"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "ref"),
                      Index("ix_incident_links_record", "kind", "ref"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(REF_MAX))
    origin: Mapped[bool] = mapped_column(default=False)  # the record it was created from
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(200))


class IncidentIndicator(Base):
    """An observable of the incident (type and normalised value), shareable as STIX."""

    __tablename__ = "incident_indicators"
    __table_args__ = (UniqueConstraint("incident_id", "type", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(2048))
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))


class IncidentContact(Base):
    """An address a member organisation is told of its incidents at, with its language."""

    __tablename__ = "incident_contacts"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    lang: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[datetime]


class IncidentWebhook(Base):
    """A member's HTTPS endpoint for signed incident notifications. ``secret`` is kept as
    given (see the module text) and never shown after it is made."""

    __tablename__ = "incident_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)


class IncidentNotification(Base):
    """One message to one member about one incident: by e-mail to a contact or to a
    webhook; a failed one is tried again by ``renkei incidents notify-retry``."""

    __tablename__ = "incident_notifications"
    __table_args__ = (Index("ix_incident_notifications_retry", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    target: Mapped[str] = mapped_column(String(2048))  # the address, or the webhook's URL
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_webhooks.id", ondelete="CASCADE"), nullable=True)
    lang: Mapped[str] = mapped_column(String(5), default="en")
    state: Mapped[str] = mapped_column(String(10))  # sent | failed | gave_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
