"""Users, API tokens and authentication: who is calling, for which organisation, with what
rights.

Secrets are never stored: passwords and token secrets are kept as argon2id hashes. A token
reads ``rk_<key id>_<secret>``; the random key id finds one row, and one hash is checked.
Every failure to authenticate gives the caller the same ``AuthenticationError`` ("invalid
credentials"), costs about one hash verification whatever went wrong (unknown user or key,
wrong secret, expired, revoked, disabled, another organisation's token), and leaves an
``auth.failed`` event with the real reason on the audit log, for the hub's staff. The
caller must commit its session before turning the error into a refusal, or the event is
rolled back with the rest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.errors import UserError
from renkei.core.models import ApiToken, Organisation, Role, Scope, User
from renkei.core.text import has_control_characters, is_clean_line
from renkei.core.time import Clock

# Passwords: argon2-cffi's default, RFC 9106's low-memory profile (argon2id, t=3, 64 MiB, p=4).
PASSWORD_HASHER = PasswordHasher()
# Token secrets are 256 random bits, beyond any guessing whatever the hash costs; argon2
# with a light cost keeps a leaked table useless while a request pays ~2 ms, not ~150 ms.
TOKEN_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)

TOKEN_PREFIX = "rk"  # noqa: S105  (the public prefix of every token, not a secret)
TOKEN_PATTERN = re.compile(r"rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
TOKEN_MAX_CHARS = 128
DEFAULT_TOKEN_DAYS = 90
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024
EMAIL_MAX_CHARS = 254
NAME_MAX_CHARS = 200
LABEL_MAX_CHARS = 200
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")

ALLOWED_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.HUB_ADMIN: frozenset({Scope.READ, Scope.SUBMIT, Scope.ADMIN}),
    Role.HUB_ANALYST: frozenset({Scope.READ, Scope.SUBMIT}),
    Role.MEMBER_SUBMITTER: frozenset({Scope.READ, Scope.SUBMIT}),
    Role.MEMBER_READER: frozenset({Scope.READ}),
}


class MemberError(UserError):
    """A user or token cannot be made or changed as asked; the message says why."""


class AuthenticationError(Exception):
    """The credentials are not accepted; deliberately says nothing of why."""

    def __init__(self) -> None:
        super().__init__("invalid credentials")


class ScopeError(Exception):
    """The caller is authenticated but its token lacks the scope the call needs."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        super().__init__(f"this call needs the {scope.value} scope")


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, with what the sharing policy needs to know of it.

    A token made for an organisation without a user acts for the organisation as a
    whole: as a hub analyst (hub administrator with the admin scope) for the hub, as a
    member submitter (member reader without the submit scope) for a member. It names no
    person, so it never reads what is TLP:RED.
    """

    organisation_id: int
    organisation_name: str
    is_hub: bool
    communities: frozenset[int]
    role: Role
    scopes: frozenset[Scope]
    user_id: int | None = None
    token_key: str | None = None

    @property
    def actor(self) -> str:
        """Who the audit log says did something."""
        if self.token_key is not None:
            return f"token:{self.token_key}"
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is its only appearance in clear; show it once and forget it."""

    token: str
    key_id: str
    organisation_id: int
    user_id: int | None
    scopes: frozenset[Scope]
    expires_at: datetime


# --- checks of what callers type ------------------------------------------------------


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased; raises MemberError when it is not a plausible address."""
    clean = email.strip().lower()
    if len(clean) > EMAIL_MAX_CHARS or has_control_characters(clean):
        raise MemberError("e-mail address must be at most 254 characters without control characters")
    if EMAIL_PATTERN.fullmatch(clean) is None:
        raise MemberError("not an e-mail address: {email}", email=repr(clean[:80]))
    return clean


def _clean_label(value: str, max_chars: int, message: str) -> str:
    clean = value.strip()
    if not is_clean_line(clean, min_chars=0, max_chars=max_chars):
        raise MemberError(message)
    return clean


def check_password(password: str) -> None:
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise MemberError("password must be 12 to 1024 characters")
    if has_control_characters(password):
        raise MemberError("password must not contain control characters")


def parse_scopes(scopes: str | Iterable[str]) -> frozenset[Scope]:
    """``"read,submit"`` or ``["read", "submit"]`` as scopes; unknown or none is an error."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    found: set[Scope] = set()
    for item in items:
        value = item.strip().lower()
        if not value:
            continue
        try:
            found.add(Scope(value))
        except ValueError:
            raise MemberError("unknown scope {scope}; use read, submit or admin",
                              scope=repr(value[:40])) from None
    if not found:
        raise MemberError("give at least one scope: read, submit or admin")
    return frozenset(found)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """Scopes as stored and shown: comma-separated in a fixed order."""
    chosen = set(scopes)
    return ",".join(s.value for s in Scope if s in chosen)


def _check_role_fits(role: Role, org: Organisation) -> None:
    if role.is_hub_role and not org.is_hub:
        raise MemberError("{role} is a role for users of the hub organisation", role=role.value)
    if not role.is_hub_role and org.is_hub:
        raise MemberError("{role} is a role for users of member organisations", role=role.value)


# --- users ----------------------------------------------------------------------------


def get_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def require_user(session: Session, email: str) -> User:
    user = get_user(session, email)
    if user is None:
        raise MemberError("no user with the e-mail address {email}", email=repr(email.strip()[:80]))
    return user


def add_user(
    session: Session,
    clock: Clock,
    *,
    organisation: Organisation,
    email: str,
    role: Role,
    password: str,
    name: str = "",
    actor: str | None = None,
    source: str = "cli",
) -> User:
    """Register a user of ``organisation``; hub roles only in the hub, member roles elsewhere."""
    address = normalise_email(email)
    clean_name = _clean_label(
        name, NAME_MAX_CHARS, "name must be at most 200 characters without control characters")
    check_password(password)
    _check_role_fits(role, organisation)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise MemberError("a user with the e-mail address {email} already exists",
                          email=repr(address))
    user = User(email=address, name=clean_name, organisation_id=organisation.id, role=role,
                password_hash=PASSWORD_HASHER.hash(password), created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, clock, action="users.add", target=f"user:{user.id}",
                 details={"email": address, "role": role.value, "organisation": organisation.name},
                 organisation_id=organisation.id, actor=actor, source=source)
    return user


def list_users(session: Session, organisation: Organisation | None = None) -> list[User]:
    stmt = select(User).order_by(User.email)
    if organisation is not None:
        stmt = stmt.where(User.organisation_id == organisation.id)
    return list(session.scalars(stmt))


def set_disabled(
    session: Session,
    clock: Clock,
    email: str,
    disabled: bool,
    *,
    actor: str | None = None,
    source: str = "cli",
) -> User:
    """Disable a user (their password and tokens stop working) or enable them again."""
    user = require_user(session, email)
    if (user.disabled_at is not None) == disabled:
        return user
    user.disabled_at = clock.now() if disabled else None
    session.flush()
    audit.record(session, clock, action="users.disable" if disabled else "users.enable",
                 target=f"user:{user.id}", details={"email": user.email},
                 organisation_id=user.organisation_id, actor=actor, source=source)
    return user


def set_password(
    session: Session,
    clock: Clock,
    email: str,
    password: str,
    *,
    actor: str | None = None,
    source: str = "cli",
) -> User:
    user = require_user(session, email)
    check_password(password)
    user.password_hash = PASSWORD_HASHER.hash(password)
    session.flush()
    audit.record(session, clock, action="users.password", target=f"user:{user.id}",
                 details={"email": user.email}, organisation_id=user.organisation_id,
                 actor=actor, source=source)
    return user


# --- authentication -------------------------------------------------------------------

_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _verify(hasher: PasswordHasher, stored: str | None, secret: str) -> bool:
    """One argon2 verification; with no stored hash, one against a dummy of the same cost,
    so that an unknown user or key takes as long to refuse as a wrong secret."""
    if stored is None:
        params = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if params not in _DUMMY_HASHES:
            _DUMMY_HASHES[params] = hasher.hash(secrets.token_urlsafe(32))
        stored = _DUMMY_HASHES[params]
        secret = secret or "-"
    try:
        return hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


_VERIFIED: dict[str, tuple[str, float]] = {}
VERIFIED_FOR_SECONDS = 60.0
VERIFIED_MAX = 10_000


def _verify_token(stored: str | None, presented: str, secret: str) -> bool:
    """One argon2 verification per token per minute and process: a client paging through a
    collection would otherwise pay it on every request. Only successes are remembered, by
    a SHA-256 of the whole token (256 random bits: no table of guesses reaches it), and only
    while the stored hash is unchanged; expiry, revocation and the user's state are still
    checked on every request."""
    digest = hashlib.sha256(presented.encode()).hexdigest()
    known = _VERIFIED.get(digest)
    now = time.monotonic()
    if stored is not None and known is not None and known[0] == stored \
            and now - known[1] < VERIFIED_FOR_SECONDS:
        return True
    if not _verify(TOKEN_HASHER, stored, secret):
        return False
    if len(_VERIFIED) >= VERIFIED_MAX:
        _VERIFIED.clear()
    assert stored is not None  # _verify is False without a stored hash
    _VERIFIED[digest] = (stored, now)
    return True


def _refuse(
    session: Session,
    clock: Clock,
    *,
    method: str,
    reason: str,
    source: str,
    target: str = "",
    organisation_id: int | None = None,
) -> AuthenticationError:
    audit.record(session, clock, action="auth.failed", actor="anonymous", target=target,
                 source=source, details={"method": method, "reason": reason},
                 organisation_id=organisation_id)
    session.flush()
    return AuthenticationError()


def _principal(session: Session, org: Organisation, role: Role, scopes: frozenset[Scope],
               *, user_id: int | None, token_key: str | None) -> Principal:
    return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=org.is_hub,
                     communities=orgs.community_ids_of(session, org.id), role=role,
                     scopes=scopes, user_id=user_id, token_key=token_key)


def authenticate_password(
    session: Session, clock: Clock, email: str, password: str, *, source: str = "api"
) -> Principal:
    """The user whose e-mail address and password these are; AuthenticationError otherwise.

    A password session carries every scope the user's role allows."""
    try:
        address = normalise_email(email)
    except MemberError:
        address = ""
    usable = bool(address) and 0 < len(password) <= PASSWORD_MAX_CHARS
    user = session.scalar(select(User).where(User.email == address)) if usable else None
    matched = _verify(PASSWORD_HASHER, user.password_hash if user else None,
                      password if usable else "")
    target = f"user:{user.id}" if user else ""
    if user is None or not matched:
        reason = "malformed" if not usable else ("unknown-user" if user is None else "mismatch")
        raise _refuse(session, clock, method="password", reason=reason, source=source,
                      target=target, organisation_id=user.organisation_id if user else None)
    if user.disabled_at is not None:
        raise _refuse(session, clock, method="password", reason="disabled", source=source,
                      target=target, organisation_id=user.organisation_id)
    if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORD_HASHER.hash(password)
    org = session.get_one(Organisation, user.organisation_id)
    return _principal(session, org, user.role, ALLOWED_SCOPES[user.role], user_id=user.id,
                      token_key=None)


def token_state(token: ApiToken, now: datetime) -> TokenState:
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.ACTIVE


def _token_role(org: Organisation, user: User | None, scopes: frozenset[Scope]) -> Role:
    if user is not None:
        return user.role
    if org.is_hub:
        return Role.HUB_ADMIN if Scope.ADMIN in scopes else Role.HUB_ANALYST
    return Role.MEMBER_SUBMITTER if Scope.SUBMIT in scopes else Role.MEMBER_READER


def authenticate_token(
    session: Session,
    clock: Clock,
    presented: str,
    *,
    organisation_id: int | None = None,
    source: str = "api",
) -> Principal:
    """Who ``presented`` stands for; AuthenticationError for anything but a live token
    (of ``organisation_id`` when given, e.g. the organisation named in HTTP Basic)."""
    match = TOKEN_PATTERN.fullmatch(presented) if len(presented) <= TOKEN_MAX_CHARS else None
    key_id, secret = (match.group(1), match.group(2)) if match else ("", "")
    row = session.scalar(select(ApiToken).where(ApiToken.key_id == key_id)) if match else None
    matched = _verify_token(row.secret_hash if row else None, presented, secret)
    if row is None or not matched:
        reason = "malformed" if match is None else ("unknown-token" if row is None else "mismatch")
        raise _refuse(session, clock, method="token", reason=reason, source=source,
                      target=f"token:{key_id}" if key_id else "",
                      organisation_id=row.organisation_id if row else None)
    now = clock.now()
    user = session.get(User, row.user_id) if row.user_id is not None else None
    problem = {TokenState.EXPIRED: "expired", TokenState.REVOKED: "revoked"}.get(
        token_state(row, now))
    if problem is None and user is not None and user.disabled_at is not None:
        problem = "user-disabled"
    if problem is None and organisation_id is not None and row.organisation_id != organisation_id:
        problem = "another-organisation"
    if problem is not None:
        raise _refuse(session, clock, method="token", reason=problem, source=source,
                      target=f"token:{key_id}", organisation_id=row.organisation_id)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now  # not on every request: a read would become a write
        session.flush()
    org = session.get_one(Organisation, row.organisation_id)
    scopes = row.scope_set
    return _principal(session, org, _token_role(org, user, scopes), scopes,
                      user_id=user.id if user else None, token_key=row.key_id)


def require_scope(principal: Principal, scope: Scope) -> None:
    """Raise ScopeError unless ``principal`` holds ``scope``."""
    if scope not in principal.scopes:
        raise ScopeError(scope)


# --- tokens ---------------------------------------------------------------------------


def create_token(
    session: Session,
    clock: Clock,
    *,
    organisation: Organisation,
    scopes: str | Iterable[str],
    user: User | None = None,
    expires_days: int = DEFAULT_TOKEN_DAYS,
    label: str = "",
    actor: str | None = None,
    source: str = "cli",
) -> IssuedToken:
    """A new token for ``organisation`` (and ``user``, a user of it, when given)."""
    wanted = parse_scopes(scopes)
    clean_label = _clean_label(
        label, LABEL_MAX_CHARS, "label must be at most 200 characters without control characters")
    if not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise MemberError("a token must expire in 1 to 3650 days")
    if user is not None:
        if user.organisation_id != organisation.id:
            raise MemberError("{email} is not a user of {org}", email=repr(user.email),
                              org=repr(organisation.name))
        if user.disabled_at is not None:
            raise MemberError("{email} is disabled", email=repr(user.email))
        allowed = ALLOWED_SCOPES[user.role]
    else:
        allowed = ALLOWED_SCOPES[Role.HUB_ADMIN if organisation.is_hub else Role.MEMBER_SUBMITTER]
    refused = wanted - allowed
    if refused:
        raise MemberError("scope {scopes} is not allowed here; allowed: {allowed}",
                          scopes=format_scopes(refused), allowed=format_scopes(allowed))
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiToken(key_id=key_id, secret_hash=TOKEN_HASHER.hash(secret),
                   organisation_id=organisation.id, user_id=user.id if user else None,
                   scopes=format_scopes(wanted), label=clean_label, created_at=now,
                   created_by=actor or audit.current_actor(),
                   expires_at=now + timedelta(days=expires_days))
    session.add(row)
    session.flush()
    audit.record(session, clock, action="tokens.create", target=f"token:{key_id}",
                 details={"organisation": organisation.name, "scopes": row.scopes,
                          "user": user.email if user else None,
                          "expires_at": row.expires_at.isoformat()},
                 organisation_id=organisation.id, actor=actor, source=source)
    return IssuedToken(token=f"{TOKEN_PREFIX}_{key_id}_{secret}", key_id=key_id,
                       organisation_id=organisation.id, user_id=row.user_id, scopes=wanted,
                       expires_at=row.expires_at)


def list_tokens(session: Session, organisation: Organisation) -> list[ApiToken]:
    stmt = (select(ApiToken).where(ApiToken.organisation_id == organisation.id)
            .order_by(ApiToken.created_at, ApiToken.id))
    return list(session.scalars(stmt))


def revoke_token(
    session: Session,
    clock: Clock,
    key_id: str,
    *,
    actor: str | None = None,
    source: str = "cli",
) -> ApiToken:
    """Revoke the token with this key id (``rk_<key id>_…``); revoking twice changes nothing."""
    wanted = key_id.strip().removeprefix(f"{TOKEN_PREFIX}_").split("_", 1)[0]
    row = None
    if re.fullmatch(r"[0-9a-f]{16}", wanted):
        row = session.scalar(select(ApiToken).where(ApiToken.key_id == wanted))
    if row is None:
        raise MemberError("no token with the id {key}", key=repr(key_id.strip()[:40]))
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()
        audit.record(session, clock, action="tokens.revoke", target=f"token:{row.key_id}",
                     details={"organisation_id": row.organisation_id},
                     organisation_id=row.organisation_id, actor=actor, source=source)
    return row
