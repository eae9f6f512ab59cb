"""Signing in to the console: a password, then a second factor (TOTP), then a session.

1. ``check_password`` — the e-mail address and password (``members.authenticate_password``)
   open a *pending* session that only the second-factor pages accept, for a few minutes:
   stage ``totp`` for a user with a second factor, ``enrol`` for one without.
2. ``confirm_enrolment`` (a new secret, shown once as a QR code) or ``check_code`` — a
   right code ends the pending session and opens an ``active`` one under a new cookie, so
   a cookie seen before the second factor is worth nothing after it.

Every refusal is the same ``SignInError`` whatever went wrong (unknown address, wrong
password or code, disabled user, too many failures), and each leaves an audit event with
the real reason. Each attempt is counted towards throttling before it is judged, and a
right one is taken back (``throttle.begin_attempt``), so a parallel burst is judged no
more often than the limit. Audit actions:
``console.signin.password``, ``console.signin``, ``console.signout``,
``console.totp.enrolled``, ``console.totp.reset``, ``console.throttled``, ``auth.failed``
(method ``totp``), ``users.language``; a changed password (``change_password``):
``users.password`` and ``console.sessions.ended``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from renkei.console import sessions, throttle, totp
from renkei.console.sessions import Opened
from renkei.console.store import ConsoleSession, Stage
from renkei.core import audit, members, orgs
from renkei.core.errors import UserError
from renkei.core.i18n import LANGUAGES, gettext_noop
from renkei.core.members import AuthenticationError, Principal
from renkei.core.models import Organisation, User
from renkei.core.time import Clock

PASSWORD_REFUSED = gettext_noop(
    "sign-in refused: check the e-mail address and password, or wait a few minutes and try again")
CODE_REFUSED = gettext_noop(
    "the code is not accepted: type the six digits your app shows now, or wait a few minutes and try again")
CURRENT_REFUSED = gettext_noop(
    "the current password is not accepted: type it again, or wait a few minutes and try again")
NEW_DIFFER = gettext_noop("the two new passwords differ; type the same one twice")
NEW_SAME = gettext_noop("the new password is the current one; choose another")


class SignInError(UserError):
    """The sign-in step is refused; deliberately says nothing of why."""


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret (grouped), and its QR code."""

    secret: str
    grouped: str
    qr_data_uri: str


def principal_of(session: Session, user: User) -> Principal:
    """The user as the sharing policy sees them: the same Principal a password gives the API."""
    org = session.get_one(Organisation, user.organisation_id)
    return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=org.is_hub,
                     communities=orgs.community_ids_of(session, org.id), role=user.role,
                     scopes=members.ALLOWED_SCOPES[user.role], user_id=user.id)


def _attempt(session: Session, clock: Clock, email: str, source: str, template: str, *,
             actor: str = "anonymous", target: str | None = None, step: str | None = None,
             organisation_id: int | None = None) -> int:
    """The attempt, counted before it is judged (``throttle.begin_attempt``, which commits);
    when throttled, a ``console.throttled`` event and SignInError with ``template``."""
    try:
        return throttle.begin_attempt(session, clock, email=email, source=source)
    except throttle.Throttled as error:
        audit.record(session, clock, action="console.throttled", actor=actor,
                     target=email[:254] if target is None else target, source=source,
                     details={"by": error.which} | ({"step": step} if step else {}),
                     organisation_id=organisation_id)
        session.flush()
        raise SignInError(template) from None


def check_password(session: Session, clock: Clock, email: str, password: str, *,
                   source: str, user_agent: str) -> Opened:
    """Step 1: a pending session for the user, or SignInError."""
    address = email.strip().lower()[:members.EMAIL_MAX_CHARS]
    attempt = _attempt(session, clock, address, source, PASSWORD_REFUSED)
    try:
        principal = members.authenticate_password(session, clock, address, password,
                                                  source=source)
    except AuthenticationError:  # members has written auth.failed; the attempt stays counted
        raise SignInError(PASSWORD_REFUSED) from None
    throttle.forgive(session, attempt)
    user = session.get_one(User, principal.user_id)
    stage = Stage.TOTP if user.totp_enabled_at is not None and user.totp_secret else Stage.ENROL
    opened = sessions.open_session(
        session, clock, user, stage, source=source, user_agent=user_agent,
        pending_totp_secret=totp.new_secret() if stage is Stage.ENROL else None)
    audit.record(session, clock, action="console.signin.password", actor=principal.actor,
                 target=f"user:{user.id}", source=source, details={"next": stage.value},
                 organisation_id=user.organisation_id)
    return opened


def enrolment(row: ConsoleSession, user: User) -> Enrolment:
    """The secret a pending ``enrol`` session offers the user, with its QR code."""
    secret = row.pending_totp_secret or ""
    uri = totp.provisioning_uri(secret, user.email)
    return Enrolment(secret=secret, grouped=totp.grouped(secret), qr_data_uri=totp.qr_data_uri(uri))


def _refuse_code(session: Session, clock: Clock, user: User, source: str,
                 reason: str) -> SignInError:
    """A wrong code: its attempt stays counted (``_attempt``); audited with the reason."""
    audit.record(session, clock, action="auth.failed", actor="anonymous",
                 target=f"user:{user.id}", source=source,
                 details={"method": "totp", "reason": reason},
                 organisation_id=user.organisation_id)
    session.flush()
    return SignInError(CODE_REFUSED)


def _activate(session: Session, clock: Clock, pending: ConsoleSession, user: User, *,
              source: str, user_agent: str) -> Opened:
    sessions.revoke(session, clock, pending)
    opened = sessions.open_session(session, clock, user, Stage.ACTIVE, source=source,
                                   user_agent=user_agent)
    audit.record(session, clock, action="console.signin", actor=f"user:{user.id}",
                 target=f"user:{user.id}", source=source,
                 organisation_id=user.organisation_id)
    return opened


def confirm_enrolment(session: Session, clock: Clock, pending: ConsoleSession, user: User,
                      code: str, *, source: str, user_agent: str) -> Opened:
    """Step 2 for a user without a second factor: the code proves the app holds the
    secret; the secret becomes the user's and an active session opens."""
    attempt = _attempt(session, clock, user.email, source, CODE_REFUSED)
    secret = pending.pending_totp_secret
    if pending.stage != Stage.ENROL.value or not secret:
        raise _refuse_code(session, clock, user, source, "not-enrolling")
    step = totp.accepted_step(secret, code, clock.now(), after=None)
    if step is None:
        raise _refuse_code(session, clock, user, source, "mismatch")
    throttle.forgive(session, attempt)
    user.totp_secret = secret
    user.totp_enabled_at = clock.now()
    user.totp_last_step = step
    pending.pending_totp_secret = None
    audit.record(session, clock, action="console.totp.enrolled", actor=f"user:{user.id}",
                 target=f"user:{user.id}", source=source, organisation_id=user.organisation_id)
    return _activate(session, clock, pending, user, source=source, user_agent=user_agent)


def check_code(session: Session, clock: Clock, pending: ConsoleSession, user: User, code: str,
               *, source: str, user_agent: str) -> Opened:
    """Step 2 for a user with a second factor: a code not used before opens the session."""
    attempt = _attempt(session, clock, user.email, source, CODE_REFUSED)
    if pending.stage != Stage.TOTP.value or not user.totp_secret:
        raise _refuse_code(session, clock, user, source, "no-second-factor")
    step = totp.accepted_step(user.totp_secret, code, clock.now(), after=user.totp_last_step)
    if step is None:
        raise _refuse_code(session, clock, user, source, "mismatch-or-reused")
    # One conditional UPDATE claims the step, so two requests racing with the same code
    # cannot both pass: the second finds the step taken and is refused as a reuse.
    claimed = session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                   User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise _refuse_code(session, clock, user, source, "reused")
    throttle.forgive(session, attempt)
    session.refresh(user)
    return _activate(session, clock, pending, user, source=source, user_agent=user_agent)


def change_password(session: Session, clock: Clock, row: ConsoleSession, user: User,
                    current: str, new: str, repeated: str, *, source: str,
                    user_agent: str) -> Opened:
    """The signed-in user's new password (``members.set_password``: its length rules and
    the ``users.password`` audit), given the current one. A wrong current password counts
    towards the sign-in throttle and is refused like a throttled attempt, so the form is no
    faster way to guess. The new password is checked first: a mistyped new one is no
    attempt at the current one. Every session of the user ends, this one included; the
    browser that changed it goes on under a new session, which ends when this one would
    have."""
    if new != repeated:
        raise UserError(NEW_DIFFER)
    members.check_password(new)
    attempt = _attempt(session, clock, user.email, source, CURRENT_REFUSED,
                       actor=f"user:{user.id}", target=f"user:{user.id}",
                       step="password-change",
                       organisation_id=user.organisation_id)
    try:
        principal = members.authenticate_password(session, clock, user.email, current,
                                                  source=source)
    except AuthenticationError:  # members has written auth.failed; the attempt stays counted
        raise SignInError(CURRENT_REFUSED) from None
    throttle.forgive(session, attempt)
    if principal.user_id != user.id:  # the address is the user's own: cannot happen
        raise SignInError(CURRENT_REFUSED)
    if new == current:
        raise UserError(NEW_SAME)
    members.set_password(session, clock, user.email, new, actor=f"user:{user.id}",
                         source=source)
    ended = sessions.revoke_all_of(session, clock, user.id)
    audit.record(session, clock, action="console.sessions.ended", actor=f"user:{user.id}",
                 target=f"user:{user.id}", source=source,
                 details={"why": "password", "sessions_ended": ended},
                 organisation_id=user.organisation_id)
    opened = sessions.open_session(session, clock, user, Stage.ACTIVE, source=source,
                                   user_agent=user_agent)
    opened.row.expires_at = min(opened.row.expires_at, row.expires_at)
    session.flush()
    return opened


def sign_out(session: Session, clock: Clock, row: ConsoleSession, *, source: str) -> None:
    sessions.revoke(session, clock, row)
    audit.record(session, clock, action="console.signout", actor=f"user:{row.user_id}",
                 target=f"user:{row.user_id}", source=source)


def reset_totp(session: Session, clock: Clock, email: str, *, actor: str | None = None,
               source: str = "cli") -> User:
    """Forget a user's second factor (a lost phone); they enrol a new one at next sign-in,
    and every session of theirs ends now."""
    user = members.require_user(session, email)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    ended = sessions.revoke_all_of(session, clock, user.id)
    audit.record(session, clock, action="console.totp.reset", actor=actor,
                 target=f"user:{user.id}", source=source,
                 details={"email": user.email, "sessions_ended": ended},
                 organisation_id=user.organisation_id)
    session.flush()
    return user


def set_language(session: Session, clock: Clock, user: User, lang: str, *,
                 source: str) -> None:
    """The language the console speaks to ``user`` from now on: en or ja."""
    if lang not in LANGUAGES:
        raise UserError("unsupported language {lang}; use en or ja", lang=repr(lang[:10]))
    if user.locale != lang:
        user.locale = lang
        audit.record(session, clock, action="users.language", actor=f"user:{user.id}",
                     target=f"user:{user.id}", source=source, details={"lang": lang},
                     organisation_id=user.organisation_id)
        session.flush()
