"""Organisations with communities and the hub; users, API tokens and authentication."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.members import AuthenticationError, MemberError, Principal, ScopeError
from renkei.core.models import ApiToken, AuditEvent, Organisation, Role, Scope, User
from renkei.core.time import FixedClock

PASSWORD = "correct horse battery staple"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords are hashed at 64 MiB and three passes in production; these tests check
    behaviour, not cost, so they hash cheaply (test_password_hash_is_argon2id_at_full_cost
    checks the real parameters)."""
    monkeypatch.setattr(members, "PASSWORD_HASHER", FAST)


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def failures(session: Session) -> list[dict[str, Any]]:
    stmt = select(AuditEvent).where(AuditEvent.action == "auth.failed").order_by(AuditEvent.id)
    return [e.details for e in session.scalars(stmt)]


@pytest.fixture
def hub(db_session: Session, clock: FixedClock) -> Organisation:
    return orgs.add(db_session, clock, "NISC", hub=True)


@pytest.fixture
def bank(db_session: Session, clock: FixedClock) -> Organisation:
    return orgs.add(db_session, clock, "Example Bank", communities=["finance"])


@pytest.fixture
def alice(db_session: Session, clock: FixedClock, bank: Organisation) -> User:
    return members.add_user(db_session, clock, organisation=bank, email="Alice@Bank.example",
                            role=Role.MEMBER_SUBMITTER, password=PASSWORD, name="Alice")


# --- organisations, communities, the hub -----------------------------------------------


def test_communities_are_normalised_and_audited(db_session: Session, clock: FixedClock) -> None:
    org = orgs.add(db_session, clock, "Telco", communities=[" Telecom ", "ＦＩＮＡＮＣＥ", "telecom"])
    assert [c.name for c in orgs.communities_of(db_session, org.id)] == ["finance", "telecom"]
    assert actions(db_session) == [
        "orgs.add", "communities.add", "orgs.join", "communities.add", "orgs.join"]
    other = orgs.add(db_session, clock, "Bank", communities=["finance"])
    assert orgs.community_ids_of(db_session, other.id) < orgs.community_ids_of(db_session, org.id)
    assert orgs.community_names_by_org(db_session) == {
        org.id: ["finance", "telecom"], other.id: ["finance"]}


def test_join_twice_changes_nothing_and_leave_is_audited(
    db_session: Session, clock: FixedClock, bank: Organisation
) -> None:
    before = len(actions(db_session))
    orgs.join(db_session, clock, bank, ["Finance"])
    assert len(actions(db_session)) == before
    orgs.join(db_session, clock, bank, ["government"])
    orgs.leave(db_session, clock, bank, ["finance"])
    assert [c.name for c in orgs.communities_of(db_session, bank.id)] == ["government"]
    assert actions(db_session)[-3:] == ["communities.add", "orgs.join", "orgs.leave"]
    with pytest.raises(orgs.OrganisationError, match="not in the community 'finance'"):
        orgs.leave(db_session, clock, bank, ["finance"])


@pytest.mark.parametrize(("name", "message"), [
    ("", "1 to 100 characters"),
    ("x" * 101, "1 to 100 characters"),
    ("fin\x00ance", "control characters"),
    ("fin\u202eance", "control characters"),
    ("finance,telecom", "comma"),
])
def test_bad_community_names_are_refused_before_any_write(
    db_session: Session, clock: FixedClock, name: str, message: str
) -> None:
    with pytest.raises(orgs.OrganisationError, match=message):
        orgs.add(db_session, clock, "Org", communities=["ok", name])
    assert orgs.list_all(db_session) == []
    assert actions(db_session) == []


def test_exactly_one_hub(db_session: Session, clock: FixedClock, hub: Organisation) -> None:
    assert orgs.hub(db_session) is hub
    assert orgs.add(db_session, clock, "Member").is_hub is False
    with pytest.raises(orgs.OrganisationError, match="the hub is already 'NISC'"):
        orgs.add(db_session, clock, "Another hub", hub=True)
    assert orgs.ensure_hub(db_session, clock, "ignored") is hub
    assert audit_details(db_session, "orgs.add")[0] == {"name": "NISC", "hub": True}


def test_the_database_itself_refuses_a_second_hub(
    db_session: Session, clock: FixedClock, hub: Organisation
) -> None:
    savepoint = db_session.begin_nested()
    db_session.add(Organisation(name="sneaky", created_at=clock.now(), is_hub=True))
    with pytest.raises(IntegrityError):
        db_session.flush()
    savepoint.rollback()
    assert [o.name for o in orgs.list_all(db_session)] == ["NISC"]


def test_ensure_hub_makes_one_on_first_use(db_session: Session, clock: FixedClock) -> None:
    made = orgs.ensure_hub(db_session, clock)
    assert (made.name, made.is_hub) == (orgs.DEFAULT_HUB_NAME, True)
    assert orgs.ensure_hub(db_session, clock) is made
    assert actions(db_session) == ["orgs.add"]


def test_ensure_hub_promotes_an_existing_organisation(
    db_session: Session, clock: FixedClock
) -> None:
    existing = orgs.add(db_session, clock, "JPCERT/CC")
    assert orgs.ensure_hub(db_session, clock, "JPCERT/CC") is existing
    assert existing.is_hub
    assert actions(db_session) == ["orgs.add", "orgs.set_hub"]


def audit_details(session: Session, action: str) -> list[dict[str, Any]]:
    stmt = select(AuditEvent.details).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(session.scalars(stmt))


# --- users ----------------------------------------------------------------------------


def test_password_is_stored_as_an_argon2id_hash(
    db_session: Session, alice: User
) -> None:
    assert alice.email == "alice@bank.example"
    assert alice.password_hash.startswith("$argon2id$")
    assert PASSWORD not in alice.password_hash
    assert FAST.verify(alice.password_hash, PASSWORD)
    details = audit_details(db_session, "users.add")
    assert details == [{"email": "alice@bank.example", "role": "member-submitter",
                        "organisation": "Example Bank"}]
    assert PASSWORD not in repr(details)


def test_password_hash_is_argon2id_at_full_cost(
    db_session: Session, clock: FixedClock, bank: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "PASSWORD_HASHER", PasswordHasher())
    user = members.add_user(db_session, clock, organisation=bank, email="b@bank.example",
                            role=Role.MEMBER_READER, password=PASSWORD)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_roles_must_fit_the_organisation(
    db_session: Session, clock: FixedClock, hub: Organisation, bank: Organisation
) -> None:
    with pytest.raises(MemberError, match="hub-analyst is a role for users of the hub"):
        members.add_user(db_session, clock, organisation=bank, email="x@bank.example",
                         role=Role.HUB_ANALYST, password=PASSWORD)
    with pytest.raises(MemberError, match="member-reader is a role for users of member"):
        members.add_user(db_session, clock, organisation=hub, email="x@nisc.example",
                         role=Role.MEMBER_READER, password=PASSWORD)
    assert members.list_users(db_session) == []


def test_e_mail_addresses_are_unique_whatever_their_case(
    db_session: Session, clock: FixedClock, bank: Organisation, alice: User
) -> None:
    with pytest.raises(MemberError, match="already exists"):
        members.add_user(db_session, clock, organisation=bank, email=" ALICE@bank.EXAMPLE ",
                         role=Role.MEMBER_READER, password=PASSWORD)
    assert members.require_user(db_session, "ALICE@BANK.example") is alice


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-address", "not an e-mail address"),
    ("email", "a@b@c", "not an e-mail address"),
    ("email", "'; DROP TABLE users; --@x", "not an e-mail address"),
    ("email", "a" * 250 + "@b.jp", "at most 254"),
    ("email", "a\x00@b.example", "control characters"),
    ("password", "short", "12 to 1024"),
    ("password", "x" * 1025, "12 to 1024"),
    ("password", "twelve chars\x00!", "control characters"),
    ("name", "Eve\x1b[31m", "control characters"),
    ("name", "n" * 201, "at most 200"),
])
def test_bad_user_input_is_refused(
    db_session: Session, clock: FixedClock, bank: Organisation, field: str, value: str,
    message: str,
) -> None:
    given = {"email": "ok@bank.example", "password": PASSWORD, "name": ""} | {field: value}
    with pytest.raises(MemberError, match=message):
        members.add_user(db_session, clock, organisation=bank, role=Role.MEMBER_READER, **given)
    assert members.list_users(db_session) == []
    assert "users.add" not in actions(db_session)


@pytest.mark.parametrize("name", [
    "'; DROP TABLE users; --", "<script>alert(1)</script>", "{name} %s %(x)s", "山田 太郎",
])
def test_hostile_user_names_are_stored_verbatim(
    db_session: Session, clock: FixedClock, bank: Organisation, name: str
) -> None:
    user = members.add_user(db_session, clock, organisation=bank, email="h@bank.example",
                            role=Role.MEMBER_READER, password=PASSWORD, name=name)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get_one(User, user.id).name == name


def test_password_authentication(
    db_session: Session, clock: FixedClock, bank: Organisation, alice: User
) -> None:
    principal = members.authenticate_password(db_session, clock, "ALICE@bank.example", PASSWORD)
    assert principal == Principal(
        organisation_id=bank.id, organisation_name="Example Bank", is_hub=False,
        communities=orgs.community_ids_of(db_session, bank.id), role=Role.MEMBER_SUBMITTER,
        scopes=frozenset({Scope.READ, Scope.SUBMIT}), user_id=alice.id)
    assert principal.actor == f"user:{alice.id}"


@pytest.mark.parametrize(("email", "password", "reason"), [
    ("alice@bank.example", "wrong password, long enough", "mismatch"),
    ("nobody@bank.example", PASSWORD, "unknown-user"),
    ("not an address", PASSWORD, "malformed"),
    ("alice@bank.example", "", "malformed"),
    ("alice@bank.example", "x" * 100_000, "malformed"),
])
def test_password_failures_look_alike_and_are_audited(
    db_session: Session, clock: FixedClock, alice: User, email: str, password: str, reason: str
) -> None:
    with pytest.raises(AuthenticationError) as raised:
        members.authenticate_password(db_session, clock, email, password, source="api 192.0.2.1")
    assert str(raised.value) == "invalid credentials"
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.failed")).one()
    assert event.details == {"method": "password", "reason": reason}
    assert (event.actor, event.source) == ("anonymous", "api 192.0.2.1")
    assert not password or password not in repr(event.details)


def test_disabled_user_cannot_sign_in_and_can_be_enabled(
    db_session: Session, clock: FixedClock, alice: User
) -> None:
    members.set_disabled(db_session, clock, alice.email, True)
    members.set_disabled(db_session, clock, alice.email, True)  # no second event
    with pytest.raises(AuthenticationError):
        members.authenticate_password(db_session, clock, alice.email, PASSWORD)
    assert failures(db_session) == [{"method": "password", "reason": "disabled"}]
    members.set_disabled(db_session, clock, alice.email, False)
    assert members.authenticate_password(db_session, clock, alice.email, PASSWORD).user_id == alice.id
    assert [a for a in actions(db_session) if a.startswith("users.")] == [
        "users.add", "users.disable", "users.enable"]


def test_password_change(db_session: Session, clock: FixedClock, alice: User) -> None:
    members.set_password(db_session, clock, alice.email, "a new and longer secret")
    with pytest.raises(AuthenticationError):
        members.authenticate_password(db_session, clock, alice.email, PASSWORD)
    members.authenticate_password(db_session, clock, alice.email, "a new and longer secret")
    assert "users.password" in actions(db_session)


def test_old_hash_parameters_are_upgraded_on_sign_in(
    db_session: Session, clock: FixedClock, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(members, "PASSWORD_HASHER", stronger)
    members.authenticate_password(db_session, clock, alice.email, PASSWORD)
    assert "t=2" in alice.password_hash
    assert stronger.verify(alice.password_hash, PASSWORD)


class CountingHasher:
    """Wraps a hasher and counts verifications, to see every refusal costs one."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.verified = 0
        self.time_cost, self.memory_cost, self.parallelism = (
            inner.time_cost, inner.memory_cost, inner.parallelism)

    def hash(self, secret: str) -> str:
        return self.inner.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        self.verified += 1
        return self.inner.verify(stored, secret)

    def check_needs_rehash(self, stored: str) -> bool:
        return self.inner.check_needs_rehash(stored)


@pytest.mark.parametrize(("email", "password"), [
    ("alice@bank.example", PASSWORD),
    ("alice@bank.example", "wrong password, long enough"),
    ("nobody@bank.example", PASSWORD),
    ("no address at all", PASSWORD),
])
def test_every_password_attempt_costs_one_verification(
    db_session: Session, clock: FixedClock, alice: User, monkeypatch: pytest.MonkeyPatch,
    email: str, password: str,
) -> None:
    counting = CountingHasher(FAST)
    monkeypatch.setattr(members, "PASSWORD_HASHER", counting)
    with contextlib.suppress(AuthenticationError):
        members.authenticate_password(db_session, clock, email, password)
    assert counting.verified == 1


# --- tokens ---------------------------------------------------------------------------


@pytest.fixture
def issued(db_session: Session, clock: FixedClock, bank: Organisation, alice: User) -> members.IssuedToken:
    return members.create_token(db_session, clock, organisation=bank, scopes="read,submit",
                                user=alice, expires_days=30, label="TAXII client")


def test_token_is_shown_once_and_stored_hashed(
    db_session: Session, clock: FixedClock, issued: members.IssuedToken
) -> None:
    assert members.TOKEN_PATTERN.fullmatch(issued.token)
    secret = issued.token.split("_", 2)[2]
    row = db_session.scalars(select(ApiToken)).one()
    assert row.secret_hash.startswith("$argon2id$")
    stored = " ".join(str(getattr(row, c.key)) for c in ApiToken.__table__.columns)
    assert secret not in stored
    assert all(secret not in repr(e.details) and secret not in e.target
               for e in db_session.scalars(select(AuditEvent)))
    assert issued.expires_at == clock.now() + timedelta(days=30)
    assert audit_details(db_session, "tokens.create") == [{
        "organisation": "Example Bank", "scopes": "read,submit", "user": "alice@bank.example",
        "expires_at": issued.expires_at.isoformat()}]


def test_token_authenticates_and_records_its_use(
    db_session: Session, clock: FixedClock, bank: Organisation, alice: User,
    issued: members.IssuedToken,
) -> None:
    later = FixedClock(clock.now() + timedelta(days=1))
    principal = members.authenticate_token(db_session, later, issued.token)
    assert principal.user_id == alice.id
    assert principal.organisation_id == bank.id
    assert principal.role is Role.MEMBER_SUBMITTER
    assert principal.scopes == {Scope.READ, Scope.SUBMIT}
    assert principal.communities == orgs.community_ids_of(db_session, bank.id)
    assert principal.actor == f"token:{issued.key_id}"
    row = db_session.scalars(select(ApiToken)).one()
    assert row.last_used_at == later.now()
    assert members.authenticate_token(db_session, later, issued.token,
                                      organisation_id=bank.id) == principal
    soon = FixedClock(later.now() + timedelta(seconds=30))
    members.authenticate_token(db_session, soon, issued.token)
    assert row.last_used_at == later.now()  # to the minute: a read does not become a write


def _tamper(token: str) -> str:
    """The same token with the first character of its secret changed."""
    prefix, key_id, secret = token.split("_", 2)
    return f"{prefix}_{key_id}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"


@pytest.mark.parametrize(("case", "reason"), [
    ("wrong-secret", "mismatch"),
    ("unknown-key", "unknown-token"),
    ("malformed", "malformed"),
    ("huge", "malformed"),
    ("expired", "expired"),
    ("revoked", "revoked"),
    ("user-disabled", "user-disabled"),
    ("another-organisation", "another-organisation"),
])
def test_tokens_that_must_not_work_are_refused_alike(
    db_session: Session, clock: FixedClock, issued: members.IssuedToken, alice: User,
    case: str, reason: str,
) -> None:
    token, when, expected_org = issued.token, clock, None
    if case == "wrong-secret":
        token = _tamper(token)
    elif case == "unknown-key":
        token = "rk_0123456789abcdef_" + token.split("_", 2)[2]
    elif case == "malformed":
        token = "Bearer " + token
    elif case == "huge":
        token = token + "A" * 1_000_000
    elif case == "expired":
        when = FixedClock(issued.expires_at)
    elif case == "revoked":
        members.revoke_token(db_session, clock, issued.key_id)
    elif case == "user-disabled":
        members.set_disabled(db_session, clock, alice.email, True)
    elif case == "another-organisation":
        expected_org = orgs.add(db_session, clock, "Other").id
    with pytest.raises(AuthenticationError) as raised:
        members.authenticate_token(db_session, when, token, organisation_id=expected_org,
                                   source="taxii 198.51.100.7")
    assert str(raised.value) == "invalid credentials"
    assert failures(db_session) == [{"method": "token", "reason": reason}]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.failed")).one()
    assert event.source == "taxii 198.51.100.7"
    assert issued.token.split("_", 2)[2] not in event.target
    assert db_session.scalars(select(ApiToken)).one().last_used_at is None


def test_token_still_works_one_second_before_expiry(
    db_session: Session, issued: members.IssuedToken
) -> None:
    almost = FixedClock(issued.expires_at - timedelta(seconds=1))
    assert members.authenticate_token(db_session, almost, issued.token).scopes


@pytest.mark.parametrize("case", ["valid", "wrong-secret", "unknown-key", "malformed"])
def test_every_token_attempt_costs_one_verification(
    db_session: Session, clock: FixedClock, issued: members.IssuedToken,
    monkeypatch: pytest.MonkeyPatch, case: str,
) -> None:
    counting = CountingHasher(members.TOKEN_HASHER)
    monkeypatch.setattr(members, "TOKEN_HASHER", counting)
    token = {"valid": issued.token, "wrong-secret": _tamper(issued.token),
             "unknown-key": "rk_0123456789abcdef_" + "x" * 43, "malformed": "garbage"}[case]
    with contextlib.suppress(AuthenticationError):
        members.authenticate_token(db_session, clock, token)
    assert counting.verified == 1


def test_require_scope(db_session: Session, clock: FixedClock, bank: Organisation) -> None:
    issued = members.create_token(db_session, clock, organisation=bank, scopes=["read"])
    principal = members.authenticate_token(db_session, clock, issued.token)
    members.require_scope(principal, Scope.READ)
    for scope in (Scope.SUBMIT, Scope.ADMIN):
        with pytest.raises(ScopeError, match=f"needs the {scope.value} scope"):
            members.require_scope(principal, scope)


def test_organisation_tokens_act_for_the_organisation(
    db_session: Session, clock: FixedClock, hub: Organisation, bank: Organisation
) -> None:
    def role_of(org: Organisation, scopes: str) -> Role:
        issued = members.create_token(db_session, clock, organisation=org, scopes=scopes)
        principal = members.authenticate_token(db_session, clock, issued.token)
        assert principal.user_id is None
        return principal.role

    assert role_of(hub, "read,admin") is Role.HUB_ADMIN
    assert role_of(hub, "read,submit") is Role.HUB_ANALYST
    assert role_of(bank, "read,submit") is Role.MEMBER_SUBMITTER
    assert role_of(bank, "read") is Role.MEMBER_READER


@pytest.mark.parametrize(("scopes", "message"), [
    ("", "at least one scope"),
    (" , ", "at least one scope"),
    ("read,write", "unknown scope 'write'"),
    ("admin", "scope admin is not allowed here; allowed: read,submit"),
])
def test_member_organisation_token_scopes(
    db_session: Session, clock: FixedClock, bank: Organisation, scopes: str, message: str
) -> None:
    with pytest.raises(MemberError, match=message):
        members.create_token(db_session, clock, organisation=bank, scopes=scopes)
    assert db_session.scalar(select(func.count(ApiToken.id))) == 0


def test_user_tokens_get_no_more_than_the_role_allows(
    db_session: Session, clock: FixedClock, bank: Organisation
) -> None:
    reader = members.add_user(db_session, clock, organisation=bank, email="r@bank.example",
                              role=Role.MEMBER_READER, password=PASSWORD)
    with pytest.raises(MemberError, match="scope submit is not allowed here; allowed: read"):
        members.create_token(db_session, clock, organisation=bank, scopes="read,submit",
                             user=reader)


def test_a_token_for_a_user_of_another_organisation_is_refused(
    db_session: Session, clock: FixedClock, hub: Organisation, alice: User
) -> None:
    with pytest.raises(MemberError, match="is not a user of 'NISC'"):
        members.create_token(db_session, clock, organisation=hub, scopes="read", user=alice)


@pytest.mark.parametrize(("days", "label", "message"), [
    (0, "", "1 to 3650 days"),
    (3651, "", "1 to 3650 days"),
    (30, "bad\nlabel", "label must be at most 200"),
    (30, "l" * 201, "label must be at most 200"),
])
def test_token_expiry_and_label_are_bounded(
    db_session: Session, clock: FixedClock, bank: Organisation, days: int, label: str,
    message: str,
) -> None:
    with pytest.raises(MemberError, match=message):
        members.create_token(db_session, clock, organisation=bank, scopes="read",
                             expires_days=days, label=label)


def test_revoke_once_audited_and_by_id_or_token(
    db_session: Session, clock: FixedClock, issued: members.IssuedToken
) -> None:
    row = members.revoke_token(db_session, clock, issued.key_id)
    assert row.revoked_at == clock.now()
    assert members.revoke_token(db_session, clock, issued.token).revoked_at == clock.now()
    assert actions(db_session).count("tokens.revoke") == 1
    assert members.token_state(row, clock.now()) is members.TokenState.REVOKED


@pytest.mark.parametrize("key", ["", "0123456789abcdef", "'; DELETE FROM api_tokens; --", "x" * 10_000])
def test_revoking_an_unknown_token_says_so(
    db_session: Session, clock: FixedClock, issued: members.IssuedToken, key: str
) -> None:
    with pytest.raises(MemberError, match="no token with the id"):
        members.revoke_token(db_session, clock, key)
    assert db_session.scalars(select(ApiToken)).one().revoked_at is None


def test_list_tokens_and_their_states(
    db_session: Session, clock: FixedClock, bank: Organisation, issued: members.IssuedToken
) -> None:
    short = members.create_token(db_session, clock, organisation=bank, scopes="read",
                                 expires_days=1)
    rows = members.list_tokens(db_session, bank)
    assert [r.key_id for r in rows] == [issued.key_id, short.key_id]
    tomorrow = clock.now() + timedelta(days=1)
    assert [members.token_state(r, tomorrow).value for r in rows] == ["active", "expired"]


@pytest.fixture
def _no_dummy_cache() -> Iterator[None]:
    saved = dict(members._DUMMY_HASHES)
    members._DUMMY_HASHES.clear()
    yield
    members._DUMMY_HASHES.update(saved)


@pytest.mark.usefixtures("_no_dummy_cache")
def test_dummy_hash_has_the_same_cost_as_real_ones(db_session: Session, clock: FixedClock) -> None:
    with pytest.raises(AuthenticationError):
        members.authenticate_token(db_session, clock, "rk_0123456789abcdef_" + "x" * 43)
    (dummy,) = members._DUMMY_HASHES.values()
    real = members.TOKEN_HASHER.hash("y" * 43)
    assert dummy.split("$")[3] == real.split("$")[3]  # the m=…,t=…,p=… field
