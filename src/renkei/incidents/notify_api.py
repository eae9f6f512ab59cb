"""Members' notification contacts and webhooks under ``/api/v1/incidents/contacts`` and
``/api/v1/incidents/webhooks``: what ``renkei incidents contacts …`` and ``webhooks …`` do.

The hub's staff only, as on the command line: reading needs the read scope, a change the
submit scope. A member is refused (403, audited) before anything is looked up, so it
learns nothing of any contact or webhook, its own or another's. A webhook's signing
secret is in the answer to its creation only. The rules live in ``incidents.notify``;
these routes only translate, both kinds through one shape (``_Targets``). ``api.router``
includes this router before its ``/{incident_id}`` routes, which would otherwise take
``contacts`` for an incident's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renkei.core.http import Body, RowId, work
from renkei.core.models import Scope
from renkei.core.time import Clock
from renkei.incidents import notify
from renkei.incidents.service import Caller
from renkei.incidents.store import IncidentContact, IncidentWebhook

router = APIRouter()
OrganisationQuery = Annotated[str | None, Query(max_length=200,
                                                 description="Only this member's")]


class ContactIn(Body):
    organisation: str = Field(max_length=200, description="The member organisation's name")
    email: str = Field(max_length=254)
    lang: str = Field("en", max_length=5, description="The language of its messages: en or ja")


class ContactOut(BaseModel):
    id: int
    organisation: str
    email: str
    lang: str
    created_at: datetime


class WebhookIn(Body):
    organisation: str = Field(max_length=200, description="The member organisation's name")
    url: str = Field(max_length=notify.URL_MAX,
                     description="https://… (http only to 127.0.0.1, ::1 or localhost)")


class WebhookOut(BaseModel):
    id: int
    organisation: str
    url: str
    created_at: datetime
    created_by: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret, shown in this answer only")


def _contact(row: IncidentContact, organisation: str) -> ContactOut:
    return ContactOut(id=row.id, organisation=organisation, email=row.email, lang=row.lang,
                      created_at=row.created_at)


def _webhook(row: IncidentWebhook, organisation: str) -> WebhookOut:
    return WebhookOut(id=row.id, organisation=organisation, url=row.url,
                      created_at=row.created_at, created_by=row.created_by)


def _add_contact(session: Session, clock: Clock, caller: Caller, body: ContactIn) -> ContactOut:
    row = notify.add_contact(session, clock, caller, body.organisation, body.email,
                             lang=body.lang)
    return _contact(row, body.organisation.strip())


def _add_webhook(session: Session, clock: Clock, caller: Caller,
                 body: WebhookIn) -> WebhookCreated:
    row, secret = notify.add_webhook(session, clock, caller, body.organisation, body.url)
    return WebhookCreated(**_webhook(row, body.organisation.strip()).model_dump(),
                          secret=secret)


RowT = TypeVar("RowT")
InT = TypeVar("InT", bound=Body)
OutT = TypeVar("OutT", bound=BaseModel)
NewT = TypeVar("NewT", bound=BaseModel)


@dataclass(frozen=True)
class _Targets(Generic[RowT, InT, OutT, NewT]):
    """One kind of place a member is told of its incidents at (contacts, webhooks): what
    differs is ``notify``'s functions for it and the shape of its answers; the routes' shape
    is here once, so the kinds cannot drift apart: a list needs the read scope, an addition
    or a removal the submit scope, and every answer names the member."""

    listed: Callable[[Session, Clock, Caller, str | None], list[tuple[RowT, str]]]
    added: Callable[[Session, Clock, Caller, InT], NewT]
    removed: Callable[[Session, Clock, Caller, int], tuple[RowT, str]]
    shown: Callable[[RowT, str], OutT]

    def list_all(self, request: Request, organisation: str | None) -> list[OutT]:
        with work(request) as w:
            rows = self.listed(w.session, w.clock, Caller.of(w.principal, w.source), organisation)
            return [self.shown(row, name) for row, name in rows]

    def add(self, request: Request, body: InT) -> NewT:
        with work(request, Scope.SUBMIT) as w:
            return self.added(w.session, w.clock, Caller.of(w.principal, w.source), body)

    def remove(self, request: Request, row_id: int) -> OutT:
        with work(request, Scope.SUBMIT) as w:
            row, name = self.removed(w.session, w.clock, Caller.of(w.principal, w.source), row_id)
            return self.shown(row, name)


CONTACTS = _Targets(notify.contact_list, _add_contact, notify.remove_contact, _contact)
WEBHOOKS = _Targets(notify.webhook_list, _add_webhook, notify.remove_webhook, _webhook)


@router.get("/contacts", summary="Members' addresses for incident notifications (the hub's "
            "staff)", response_model=list[ContactOut])
def list_contacts(request: Request, organisation: OrganisationQuery = None) -> list[ContactOut]:
    return CONTACTS.list_all(request, organisation)


@router.post("/contacts", summary="Add a member's address for incident notifications (the "
             "hub's staff)", status_code=201, response_model=ContactOut)
def add_contact(body: ContactIn, request: Request) -> ContactOut:
    return CONTACTS.add(request, body)


@router.delete("/contacts/{contact_id}", summary="Remove a member's notification address "
               "(the hub's staff)", response_model=ContactOut)
def remove_contact(contact_id: RowId, request: Request) -> ContactOut:
    return CONTACTS.remove(request, contact_id)


@router.get("/webhooks", summary="Members' active webhooks, never their secrets (the hub's "
            "staff)", response_model=list[WebhookOut])
def list_webhooks(request: Request, organisation: OrganisationQuery = None) -> list[WebhookOut]:
    return WEBHOOKS.list_all(request, organisation)


@router.post("/webhooks", summary="Add a member's webhook; the answer holds its signing "
             "secret, this once (the hub's staff)", status_code=201,
             response_model=WebhookCreated)
def add_webhook(body: WebhookIn, request: Request) -> WebhookCreated:
    return WEBHOOKS.add(request, body)


@router.delete("/webhooks/{webhook_id}", summary="Disable a member's webhook (the hub's "
               "staff)", response_model=WebhookOut)
def remove_webhook(webhook_id: RowId, request: Request) -> WebhookOut:
    return WEBHOOKS.remove(request, webhook_id)
