"""Telling the affected members of an incident: by e-mail to their contacts and by signed
webhooks.

E-mail goes through the SMTP server of the settings (``RENKEI_SMTP_*``), one message per
contact in the contact's language (English or Japanese). A webhook receives a JSON POST
signed like Stripe's and GitHub's: ``X-Renkei-Signature: t=<unix time>,v1=<hex>``, where
``v1`` is HMAC-SHA256 with the webhook's secret over ``<t>.<body>``; ``verify_signature``
is the receiver's check. Webhook URLs must be https, or http to this machine only
(127.0.0.1, ::1, localhost: a local relay, and tests); redirects are not followed.

Every message is a row of ``incident_notifications``; a failure is recorded there and as
an ``notify_failed`` event, and ``retry`` (``renkei incidents notify-retry``) tries it
again later, up to ``MAX_ATTEMPTS`` times with growing waits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit, members
from renkei.core.config import SmtpSettings
from renkei.core.i18n import gettext_noop, translator
from renkei.core.models import Organisation
from renkei.core.text import visible
from renkei.core.time import Clock
from renkei.core.tlp import Tlp
from renkei.incidents.errors import IncidentError
from renkei.incidents.model import EventKind
from renkei.incidents.service import Caller, append_event, get, refuse
from renkei.incidents.store import (
    Incident,
    IncidentContact,
    IncidentNotification,
    IncidentOrganisation,
    IncidentWebhook,
)

MAX_ATTEMPTS = 5
SIGNATURE_HEADER = "X-Renkei-Signature"
SIGNATURE_TOLERANCE = 300  # seconds a receiver accepts between t= and its clock
WEBHOOK_TIMEOUT = 10.0
URL_MAX = 2048
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SECRET_PREFIX = "whsec_"  # noqa: S105  (the public prefix of every webhook secret)

# the lines of an e-mail notification, translated where it is rendered
SUBJECT = gettext_noop("[{tlp}] Incident {id} ({severity}): {title}")
LINES = (
    gettext_noop("The hub has an incident that affects {organisation}."),
    gettext_noop("Incident: {id}"),
    gettext_noop("Title: {title}"),
    gettext_noop("Severity: {severity}"),
    gettext_noop("Category: {category}"),
    gettext_noop("Status: {status}"),
    gettext_noop("Detected: {detected}"),
    gettext_noop("This message is {tlp}: share it only as that marking allows."),
    gettext_noop("Reply to the hub, or follow the incident with `renkei incidents show {id}` "
                 "or GET /api/v1/incidents/{id}."),
)


class NotifyError(IncidentError):
    pass


# --- contacts and webhooks ---------------------------------------------------------------


def _member(session: Session, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name.strip()))
    if org is None:
        raise NotifyError("no organisation named {name}", status=404, name=repr(name[:100]))
    if org.is_hub:
        raise NotifyError("the hub is not a member an incident can affect")
    return org


def _staff_only(session: Session, clock: Clock, caller: Caller, action: str, *,
                change: bool) -> None:
    """Contacts and webhooks are the hub's staff's (members' addresses and secrets); a
    change also needs the submit scope. A refusal is audited and says nothing of what
    exists."""
    if not caller.is_hub_staff:
        raise refuse(session, clock, caller, action, None, "only the hub's staff do this")
    if change and not caller.may_change:
        raise refuse(session, clock, caller, action, None, "this needs the submit scope")


def _name(session: Session, organisation_id: int) -> str:
    return session.get_one(Organisation, organisation_id).name


def add_contact(session: Session, clock: Clock, caller: Caller, organisation: str, email: str,
                *, lang: str = "en") -> IncidentContact:
    """An address ``organisation`` is told of its incidents at (the hub's staff only)."""
    _staff_only(session, clock, caller, "contact", change=True)
    org = _member(session, organisation)
    address = members.normalise_email(email)
    if lang not in ("en", "ja"):
        raise NotifyError("a contact's language is en or ja")
    if session.scalar(select(IncidentContact.id).where(
            IncidentContact.organisation_id == org.id, IncidentContact.email == address)):
        raise NotifyError("{email} is already a contact of {org}", status=409,
                          email=address, org=org.name)
    row = IncidentContact(organisation_id=org.id, email=address, lang=lang,
                          created_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, clock, action="incidents.contact.add", actor=caller.actor,
                 source=caller.source, target=f"organisation:{org.id}",
                 details={"email": address, "lang": lang}, organisation_id=org.id)
    return row


def contacts_of(session: Session, organisation_id: int) -> list[IncidentContact]:
    return list(session.scalars(select(IncidentContact).where(
        IncidentContact.organisation_id == organisation_id).order_by(IncidentContact.id)))


def contact_list(session: Session, clock: Clock, caller: Caller,
                 organisation: str | None = None) -> list[tuple[IncidentContact, str]]:
    """Every member's contacts (or one member's), each with its organisation's name, by
    organisation and address. The hub's staff only."""
    _staff_only(session, clock, caller, "contact", change=False)
    stmt = (select(IncidentContact, Organisation.name)
            .join(Organisation, Organisation.id == IncidentContact.organisation_id)
            .order_by(Organisation.name, IncidentContact.email))
    if organisation is not None:
        stmt = stmt.where(IncidentContact.organisation_id == _member(session, organisation).id)
    return [(row, name) for row, name in session.execute(stmt)]


def remove_contact(session: Session, clock: Clock, caller: Caller,
                   contact_id: int) -> tuple[IncidentContact, str]:
    """Stop telling a member's address of its incidents (the hub's staff only); returns it
    and its member's name. The messages already sent to it stay in
    ``incident_notifications``."""
    _staff_only(session, clock, caller, "contact", change=True)
    row = session.get(IncidentContact, contact_id)
    if row is None:
        raise NotifyError("no contact {id}", status=404, id=contact_id)
    session.delete(row)
    session.flush()
    audit.record(session, clock, action="incidents.contact.remove", actor=caller.actor,
                 source=caller.source, target=f"organisation:{row.organisation_id}",
                 details={"contact": row.id, "email": row.email},
                 organisation_id=row.organisation_id)
    return row, _name(session, row.organisation_id)


def check_webhook_url(url: str) -> str:
    """The URL, if a webhook may be sent to it: https, or http to this machine only; no
    user name or password in it, no fragment."""
    clean = url.strip()
    if not clean or len(clean) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in clean):
        raise NotifyError("a webhook URL is 1 to {most} characters without spaces",
                          most=URL_MAX)
    parts = urlsplit(clean)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        host = ""
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise NotifyError("a webhook URL names a host, and no user, password or fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK):
        return clean
    raise NotifyError("a webhook URL must be https (http only to 127.0.0.1, ::1 or localhost)")


def add_webhook(session: Session, clock: Clock, caller: Caller, organisation: str,
                url: str) -> tuple[IncidentWebhook, str]:
    """A webhook for ``organisation``; returns it and its secret, shown this once."""
    _staff_only(session, clock, caller, "webhook", change=True)
    org = _member(session, organisation)
    clean = check_webhook_url(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = IncidentWebhook(organisation_id=org.id, url=clean, secret=secret,
                          created_at=clock.now(), created_by=caller.actor[:200])
    session.add(row)
    session.flush()
    audit.record(session, clock, action="incidents.webhook.add", actor=caller.actor,
                 source=caller.source, target=f"webhook:{row.id}",
                 details={"url": clean[:500]}, organisation_id=org.id)
    return row, secret


def webhooks_of(session: Session, organisation_id: int | None = None) -> list[IncidentWebhook]:
    stmt = select(IncidentWebhook).where(IncidentWebhook.disabled_at.is_(None))
    if organisation_id is not None:
        stmt = stmt.where(IncidentWebhook.organisation_id == organisation_id)
    return list(session.scalars(stmt.order_by(IncidentWebhook.id)))


def webhook_list(session: Session, clock: Clock, caller: Caller,
                 organisation: str | None = None) -> list[tuple[IncidentWebhook, str]]:
    """Every member's active webhooks (or one member's), each with its organisation's name;
    the caller shows no secret. The hub's staff only."""
    _staff_only(session, clock, caller, "webhook", change=False)
    stmt = (select(IncidentWebhook, Organisation.name)
            .join(Organisation, Organisation.id == IncidentWebhook.organisation_id)
            .where(IncidentWebhook.disabled_at.is_(None)).order_by(IncidentWebhook.id))
    if organisation is not None:
        stmt = stmt.where(IncidentWebhook.organisation_id == _member(session, organisation).id)
    return [(row, name) for row, name in session.execute(stmt)]


def remove_webhook(session: Session, clock: Clock, caller: Caller,
                   webhook_id: int) -> tuple[IncidentWebhook, str]:
    """Disable a webhook (the hub's staff only): nothing is sent to it again, retries
    included; the row stays, as the notifications sent to it name it. Returns it and its
    member's name."""
    _staff_only(session, clock, caller, "webhook", change=True)
    row = session.get(IncidentWebhook, webhook_id)
    if row is None or row.disabled_at is not None:
        raise NotifyError("no webhook {id}", status=404, id=webhook_id)
    row.disabled_at = clock.now()
    session.flush()
    audit.record(session, clock, action="incidents.webhook.remove", actor=caller.actor,
                 source=caller.source, target=f"webhook:{row.id}",
                 details={"url": row.url[:500]}, organisation_id=row.organisation_id)
    return row, _name(session, row.organisation_id)


# --- signing -----------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, now: datetime,
                     tolerance: int = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver checks: a ``v1`` signature of ``t.body`` under ``secret``, with
    ``t`` within ``tolerance`` seconds of ``now`` (a replayed old message fails)."""
    fields: dict[str, list[str]] = {}
    for part in header[:1000].split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or len(stamps[0]) > 12 or not (
            stamps[0].isascii() and stamps[0].isdigit()):
        return False
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


# --- sending -----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an instruction: it counts as a failure


def post_webhook(url: str, secret: str, body: bytes, now: datetime) -> None:
    """POST ``body`` signed; raises OSError (urllib's errors) unless the answer is 2xx."""
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310  (https, or http to loopback: check_webhook_url)
        "Content-Type": "application/json", "User-Agent": "renkei-incidents",
        SIGNATURE_HEADER: sign(secret, body, int(now.timestamp()))})
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if (urlsplit(url).hostname or "") in LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))  # never through a proxy to ourselves
    opener = urllib.request.build_opener(*handlers)
    with opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def send_email(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    """One plain-text UTF-8 message through the configured server; raises on failure."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or "localhost")
    message["Date"] = format_datetime(datetime.now().astimezone())
    message.set_content(body, charset="utf-8")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=WEBHOOK_TIMEOUT) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(message)



def _summary(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "title": incident.title, "severity": incident.severity,
            "category": incident.category, "status": incident.status, "tlp": incident.tlp,
            "created_at": incident.created_at.isoformat(),
            "detected_at": incident.detected_at.isoformat() if incident.detected_at else None,
            "updated_at": incident.updated_at.isoformat()}


def render_email(incident: Incident, organisation: str, lang: str) -> tuple[str, str]:
    """The subject and body of a notification to ``organisation`` in ``lang``."""
    _ = translator(lang)
    fields = {"id": incident.id, "title": incident.title, "severity": _(incident.severity),
              "category": _(incident.category), "status": _(incident.status),
              "tlp": Tlp(incident.tlp).label, "organisation": organisation,
              "detected": incident.detected_at.isoformat() if incident.detected_at else "-"}
    subject = _(SUBJECT).format(**fields)
    body = "\n".join(_(line).format(**fields) for line in LINES)
    return " ".join(subject.split())[:900], body + "\n"


@dataclass(frozen=True)
class NotifyResult:
    sent: int
    failed: int
    email_configured: bool


def _deliver(session: Session, clock: Clock, row: IncidentNotification, smtp: SmtpSettings,
             secret: str | None) -> bool:
    now = clock.now()
    row.attempts += 1
    try:
        if row.channel == "email":
            send_email(smtp, row.target, row.payload["subject"], row.payload["body"])
        else:
            assert secret is not None
            post_webhook(row.target, secret, json.dumps(row.payload, ensure_ascii=False)
                         .encode(), now)
    except Exception as error:  # whatever a remote server answers (a bad status line, a
        # TLS fault, a refused address) fails this delivery only: recorded, retried later
        row.state = "failed" if row.attempts < MAX_ATTEMPTS else "gave_up"
        # the remote party's words, NULs and escapes included: kept as one visible line
        row.last_error = visible(f"{type(error).__name__}: {error}")[:1000]
        row.next_attempt_at = (now + timedelta(minutes=2 ** row.attempts)
                               if row.state == "failed" else None)
        session.flush()
        return False
    row.state, row.sent_at, row.next_attempt_at, row.last_error = "sent", now, None, ""
    session.flush()
    return True


def _record(session: Session, clock: Clock, caller: Caller, incident: Incident,
            row: IncidentNotification, ok: bool) -> None:
    details = {"notification": row.id, "channel": row.channel, "organisation": row.organisation_id,
               "attempt": row.attempts}
    if ok:
        append_event(session, clock, caller, incident, EventKind.NOTIFIED, details=details)
    else:
        append_event(session, clock, caller, incident, EventKind.NOTIFY_FAILED,
               details={**details, "error": row.last_error[:300], "state": row.state})


def notify(session: Session, clock: Clock, caller: Caller, incident_id: int,
           smtp: SmtpSettings) -> NotifyResult:
    """Tell every affected member now: each contact by e-mail (when an SMTP server is
    configured), each webhook by a signed POST. The hub's staff only."""
    incident = get(session, caller, incident_id)
    if not caller.is_hub_staff:
        raise refuse(session, clock, caller, "notify", incident.id,
                      "only the hub's staff do this")
    org_ids = list(session.scalars(select(IncidentOrganisation.organisation_id).where(
        IncidentOrganisation.incident_id == incident.id)))
    if not org_ids:
        raise NotifyError("incident {id} affects no member organisation: nobody to notify",
                          status=409, id=incident.id)
    planned: list[tuple[IncidentNotification, str | None]] = []
    for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))
                               .order_by(Organisation.name)):
        rows: list[tuple[IncidentNotification, str | None]] = []
        if smtp.host:
            for contact in contacts_of(session, org.id):
                subject, body = render_email(incident, org.name, contact.lang)
                rows.append((IncidentNotification(
                    incident_id=incident.id, organisation_id=org.id, channel="email",
                    target=contact.email, lang=contact.lang, state="pending",
                    payload={"subject": subject, "body": body}, created_at=clock.now()), None))
        for hook in webhooks_of(session, org.id):
            payload = {"event": "incident.notification", "delivery": str(uuid.uuid4()),
                       "organisation": org.name,
                       "incident": _summary(incident), "sent_at": clock.now().isoformat()}
            rows.append((IncidentNotification(
                incident_id=incident.id, organisation_id=org.id, channel="webhook",
                target=hook.url, webhook_id=hook.id, state="pending", payload=payload,
                created_at=clock.now()), hook.secret))
        planned.extend(rows)
    session.add_all(row for row, _secret in planned)
    _deliver_each(session, clock, caller, planned, smtp, lambda _row: incident)
    sent = sum(row.state == "sent" for row, _secret in planned)
    return NotifyResult(sent, len(planned) - sent, bool(smtp.host))


def _deliver_each(session: Session, clock: Clock, caller: Caller,
                  planned: list[tuple[IncidentNotification, str | None]], smtp: SmtpSettings,
                  incident_of: Callable[[IncidentNotification], Incident]) -> None:
    """Commit what is planned, then deliver one at a time, committing each outcome: the
    notifications are on record before anything leaves, and no write lock is held while a
    remote server takes its time (on SQLite every other writer would wait for it)."""
    session.commit()
    for row, secret in planned:
        ok = _deliver(session, clock, row, smtp, secret)
        _record(session, clock, caller, incident_of(row), row, ok)
        session.commit()


def retry(session: Session, clock: Clock, caller: Caller, smtp: SmtpSettings) -> NotifyResult:
    """Try again every failed notification whose wait is over."""
    if not caller.is_hub_staff:
        raise refuse(session, clock, caller, "notify", None, "only the hub's staff do this")
    due = list(session.scalars(select(IncidentNotification).where(
        IncidentNotification.state == "failed",
        IncidentNotification.next_attempt_at <= clock.now()).order_by(IncidentNotification.id)))
    planned: list[tuple[IncidentNotification, str | None]] = []
    for row in due:
        if row.channel == "email" and not smtp.host:
            continue
        hook = session.get(IncidentWebhook, row.webhook_id) if row.webhook_id else None
        if row.channel == "webhook" and (hook is None or hook.disabled_at is not None):
            continue
        planned.append((row, hook.secret if hook else None))
    incidents = {row.incident_id: session.get_one(Incident, row.incident_id)
                 for row, _secret in planned}
    _deliver_each(session, clock, caller, planned, smtp, lambda row: incidents[row.incident_id])
    sent = sum(row.state == "sent" for row, _secret in planned)
    return NotifyResult(sent, len(planned) - sent, bool(smtp.host))


def notifications(session: Session, incident: Incident) -> list[IncidentNotification]:
    return list(session.scalars(select(IncidentNotification).where(
        IncidentNotification.incident_id == incident.id).order_by(IncidentNotification.id)))
