"""Notifications to a real local SMTP server (aiosmtpd) and a real local HTTP receiver that
checks the HMAC signature; failures recorded and retried; webhook URLs checked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from renkei.core.config import SmtpSettings
from renkei.core.models import Role
from renkei.incidents import notify, service
from renkei.incidents.errors import IncidentError
from renkei.incidents.service import Caller
from tests.incidents.conftest import World
from tests.sharing.conftest import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSettings, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpSettings(host="127.0.0.1", port=port, sender="csirt@hub.example"), inbox
    controller.stop()


class Receiver:
    """A member's webhook endpoint: keeps what it got, answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/renkei"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def incident_for(db: Session, world: World) -> int:
    return service.create(db, world.clock, world.staff, title="Credential phishing 経理部",
                          severity="high", category="fraud",
                          organisations=["Acme Bank", "Peer Bank"]).id


def test_email_to_each_contact_in_its_language(db_session: Session, world: World,
                                               smtp: tuple[SmtpSettings, Inbox]) -> None:
    settings, inbox = smtp
    local = Caller.local("local:test")
    notify.add_contact(db_session, world.clock, local, "Acme Bank", "CSIRT@acme.example")
    notify.add_contact(db_session, world.clock, local, "Peer Bank", "soc@peer.example",
                       lang="ja")
    incident_id = incident_for(db_session, world)
    result = notify.notify(db_session, world.clock, local, incident_id, settings)
    assert (result.sent, result.failed) == (2, 0)
    by_to = {m["To"]: m for m in inbox.messages}
    english = by_to["csirt@acme.example"]
    assert str(make_header(decode_header(english["Subject"]))) == (
        f"[TLP:AMBER] Incident {incident_id} (high): Credential phishing 経理部")
    assert "affects Acme Bank" in english.get_content()
    japanese = by_to["soc@peer.example"].get_content()
    assert "インシデント" in japanese
    assert "Peer Bank" in japanese
    assert "Acme Bank" not in japanese  # a member is not told who else is affected
    kinds = [e.kind for e in service.events(db_session, service.get(db_session, local,
                                                                     incident_id))]
    assert kinds.count("notified") == 2


def test_signed_webhook_is_verified_by_the_receiver(db_session: Session, world: World,
                                                    receiver: Receiver) -> None:
    local = Caller.local("local:test")
    hook, secret = notify.add_webhook(db_session, world.clock, local, "Acme Bank", receiver.url)
    assert secret.startswith("whsec_")
    incident_id = incident_for(db_session, world)
    result = notify.notify(db_session, world.clock, local, incident_id, SmtpSettings())
    assert (result.sent, result.failed, result.email_configured) == (1, 0, False)
    ((headers, body),) = receiver.received
    signature = headers[notify.SIGNATURE_HEADER]
    assert notify.verify_signature(secret, signature, body, world.clock.now())
    assert not notify.verify_signature(secret, signature, body + b" ", world.clock.now())
    assert not notify.verify_signature("whsec_wrong", signature, body, world.clock.now())
    assert not notify.verify_signature(secret, signature, body,
                                       world.clock.now() + timedelta(minutes=10))  # replayed
    payload = json.loads(body)
    assert payload["incident"]["id"] == incident_id
    assert payload["organisation"] == "Acme Bank"
    assert hook.secret not in json.dumps(payload)


def test_a_failed_webhook_is_recorded_and_retried(db_session: Session, world: World,
                                                  receiver: Receiver) -> None:
    local = Caller.local("local:test")
    notify.add_webhook(db_session, world.clock, local, "Peer Bank", receiver.url)
    incident_id = incident_for(db_session, world)
    receiver.status = 500
    result = notify.notify(db_session, world.clock, local, incident_id, SmtpSettings())
    assert (result.sent, result.failed) == (0, 1)
    incident = service.get(db_session, local, incident_id)
    (row,) = notify.notifications(db_session, incident)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "500" in row.last_error
    assert service.events(db_session, incident)[-1].kind == "notify_failed"
    receiver.status = 200
    assert notify.retry(db_session, world.clock, local, SmtpSettings()).sent == 0  # not yet due
    world.clock.at += timedelta(minutes=3)
    assert notify.retry(db_session, world.clock, local, SmtpSettings()).sent == 1
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(receiver.received) == 2
    assert service.events(db_session, incident)[-1].kind == "notified"


def test_an_unreachable_webhook_gives_up_after_the_last_attempt(db_session: Session,
                                                                world: World) -> None:
    local = Caller.local("local:test")
    notify.add_webhook(db_session, world.clock, local, "Acme Bank",
                       f"http://127.0.0.1:{free_port()}/nobody-listens")
    incident_id = incident_for(db_session, world)
    notify.notify(db_session, world.clock, local, incident_id, SmtpSettings())
    for _ in range(notify.MAX_ATTEMPTS):
        world.clock.at += timedelta(days=1)
        notify.retry(db_session, world.clock, local, SmtpSettings())
    (row,) = notify.notifications(db_session, service.get(db_session, local, incident_id))
    assert (row.state, row.attempts) == ("gave_up", notify.MAX_ATTEMPTS)


@pytest.mark.parametrize(("url", "message"), [
    ("http://members.example/hook", "must be https"),
    ("ftp://members.example/hook", "must be https"),
    ("https://user:pw@members.example/hook", "no user, password"),
    ("https:///nohost", "names a host"),
    ("https://members.example/a b", "without spaces"),
    ("javascript:alert(1)", "names a host"),
    ("https://members.example:99999/", "names a host"),
])
def test_bad_webhook_urls_are_refused(db_session: Session, world: World, url: str,
                                      message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        notify.add_webhook(db_session, world.clock, Caller.local(), "Acme Bank", url)


def test_webhook_urls_allowed() -> None:
    for url in ("https://members.example/hook", "http://localhost:8080/x", "http://[::1]:9/x"):
        assert notify.check_webhook_url(url) == url


def test_members_cannot_register_webhooks_or_notify(db_session: Session, world: World) -> None:
    acme = world.member(world.acme)
    with pytest.raises(IncidentError, match="only the hub's staff"):
        notify.add_webhook(db_session, world.clock, acme, "Acme Bank", "https://a.example/")
    incident_id = incident_for(db_session, world)
    with pytest.raises(IncidentError, match="only the hub's staff"):
        notify.notify(db_session, world.clock, acme, incident_id, SmtpSettings())


def test_removed_contacts_and_webhooks_are_told_nothing(
        db_session: Session, world: World, smtp: tuple[SmtpSettings, Inbox],
        receiver: Receiver) -> None:
    settings, inbox = smtp
    local = Caller.local("local:test")
    contact = notify.add_contact(db_session, world.clock, local, "Acme Bank", "soc@acme.example")
    hook, _secret = notify.add_webhook(db_session, world.clock, local, "Acme Bank", receiver.url)
    incident_id = incident_for(db_session, world)
    receiver.status = 500
    assert notify.notify(db_session, world.clock, local, incident_id, settings).failed == 1
    notify.remove_contact(db_session, world.clock, local, contact.id)
    notify.remove_webhook(db_session, world.clock, local, hook.id)
    assert notify.contact_list(db_session, world.clock, local) == []
    assert notify.webhook_list(db_session, world.clock, local) == []
    receiver.status = 200
    world.clock.at += timedelta(days=1)
    assert notify.retry(db_session, world.clock, local, settings).sent == 0  # nor retried
    result = notify.notify(db_session, world.clock, local, incident_id, settings)
    assert (result.sent, result.failed) == (0, 0)
    assert len(inbox.messages) == 1  # the first time only
    assert len(receiver.received) == 1


def test_the_hub_reads_contacts_but_changes_them_with_the_submit_scope(
        db_session: Session, world: World) -> None:
    reader = Caller.of(world.principal(world.hub, Role.HUB_ANALYST, "read"))
    notify.add_contact(db_session, world.clock, world.staff, "Acme Bank", "soc@acme.example")
    assert [c.email for c, _org in notify.contact_list(db_session, world.clock, reader)] == [
        "soc@acme.example"]
    for change in (lambda: notify.add_contact(db_session, world.clock, reader, "Acme Bank",
                                              "other@acme.example"),
                   lambda: notify.remove_contact(db_session, world.clock, reader, 1),
                   lambda: notify.remove_webhook(db_session, world.clock, reader, 1)):
        with pytest.raises(IncidentError, match="submit scope") as refused:
            change()
        assert refused.value.status == 403
    for caller in (world.member(world.acme), world.member(world.acme, "read")):
        with pytest.raises(IncidentError, match="only the hub's staff") as refused:
            notify.contact_list(db_session, world.clock, caller)
        assert refused.value.status == 403


@pytest.mark.parametrize("header", ["t=²,v1=ab", "t=" + "9" * 5000 + ",v1=ab", "t=١٢٣,v1=ab"])
def test_a_signature_with_a_strange_time_is_refused_not_a_crash(header: str) -> None:
    from datetime import UTC, datetime

    assert not notify.verify_signature("whsec_x", header, b"{}", datetime.now(UTC))


class Refusing(Inbox):
    """A mail server that refuses one address, as a real one refuses an unknown mailbox."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_one_bad_answer_fails_its_delivery_only(db_session: Session, world: World) -> None:
    """A webhook answering no HTTP at all and a refused address are recorded and retried;
    the run goes on to every other contact."""
    inbox = Refusing()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    garbage = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    try:
        local = Caller.local("local:test")
        settings = SmtpSettings(host="127.0.0.1", port=port, sender="csirt@hub.example")
        notify.add_webhook(db_session, world.clock, local, "Acme Bank",
                           f"http://127.0.0.1:{garbage.server_address[1]}/hook")
        notify.add_contact(db_session, world.clock, local, "Acme Bank", "gone@acme.example")
        notify.add_contact(db_session, world.clock, local, "Peer Bank", "soc@peer.example")
        incident_id = incident_for(db_session, world)
        result = notify.notify(db_session, world.clock, local, incident_id, settings)
    finally:
        controller.stop()
        garbage.shutdown()
        garbage.server_close()
    assert (result.sent, result.failed) == (1, 2)
    assert [m["To"] for m in inbox.messages] == ["soc@peer.example"]
    incident = service.get(db_session, local, incident_id)
    states = sorted((r.channel, r.state) for r in notify.notifications(db_session, incident))
    assert states == [("email", "failed"), ("email", "sent"), ("webhook", "failed")]


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # answers something that is not HTTP
        self.wfile.write(b"SMTP? no: \x00\x01 garbage\r\n\r\n")

    def log_message(self, *args: Any) -> None:
        pass


def test_a_member_reads_no_other_member_or_address_in_the_events(
        db_session: Session, world: World, receiver: Receiver) -> None:
    from renkei.incidents import view
    from renkei.incidents.model import Sla

    local = Caller.local("local:test")
    notify.add_webhook(db_session, world.clock, local, "Peer Bank", receiver.url)
    receiver.status = 500
    incident_id = incident_for(db_session, world)  # affects Acme Bank and Peer Bank
    notify.notify(db_session, world.clock, local, incident_id, SmtpSettings())
    acme = world.member(world.acme)
    incident = service.get(db_session, acme, incident_id)
    sla = Sla.default()
    seen = json.dumps(view.detail(db_session, acme, incident, sla, world.clock.now()),
                      default=str)
    assert str(world.peer.id) not in json.dumps(
        [e["details"] for e in view.detail(db_session, acme, incident, sla,
                                           world.clock.now())["events"]])
    assert receiver.url not in seen
    assert "Peer Bank" not in seen
    staff = json.dumps(view.detail(db_session, world.staff, incident, sla, world.clock.now()),
                       default=str)
    assert '"organisations"' in staff
    assert '"error"' in staff


def test_a_retry_sends_the_same_delivery_id(db_session: Session, world: World,
                                            receiver: Receiver) -> None:
    local = Caller.local("local:test")
    notify.add_webhook(db_session, world.clock, local, "Acme Bank", receiver.url)
    receiver.status = 503
    notify.notify(db_session, world.clock, local, incident_for(db_session, world),
                  SmtpSettings())
    receiver.status = 204
    world.clock.at += timedelta(minutes=3)
    notify.retry(db_session, world.clock, local, SmtpSettings())
    first, again = (json.loads(body)["delivery"] for _, body in receiver.received)
    assert first == again, "a receiver drops a delivery it has had"
