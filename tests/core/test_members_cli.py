"""`renkei orgs`, `users` and `tokens` as an operator or a script uses them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core import members
from renkei.core.db import Database
from renkei.core.members import AuthenticationError
from renkei.core.models import AuditEvent, Role, User
from renkei.core.time import SystemClock

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members, "PASSWORD_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def database(renkei_home: Path) -> Iterator[Database]:
    """The database the commands write, opened as the API would open it."""
    db = Database(os.environ["RENKEI_DATABASE_URL"])
    yield db
    db.dispose()


def renkei(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def members_set_up(renkei_home: Path) -> None:
    assert renkei("orgs", "add", "NISC", "--hub")[0] == 0
    assert renkei("orgs", "add", "Example Bank", "--community", "Finance")[0] == 0
    code, _, err = renkei("users", "add", "--org", "Example Bank", "--role", "member-submitter",
                            "--password-stdin", "alice@bank.example", stdin=PASSWORD + "\n")
    assert code == 0, err


def test_orgs_add_keeps_its_output(renkei_home: Path) -> None:
    assert renkei("orgs", "add", "JPCERT/CC") == (0, "1\tJPCERT/CC\n", "")
    assert renkei("orgs", "add", "NICT", "--community", "telecom", "--community", "Research")[:2] == (
        0, "2\tNICT\n")


def test_orgs_list_shows_hub_and_communities(renkei_home: Path) -> None:
    renkei("orgs", "add", "NISC", "--hub")
    renkei("orgs", "add", "Example Bank", "--community", "finance", "--community", "Government")
    renkei("orgs", "add", "Loner")
    code, out, _ = renkei("orgs", "list")
    assert code == 0
    assert out.splitlines() == [
        "2\tmember\tfinance,government\tExample Bank",
        "3\tmember\t-\tLoner",
        "1\thub\t-\tNISC",
    ]


def test_orgs_join_and_leave(renkei_home: Path) -> None:
    renkei("orgs", "add", "Telco")
    assert renkei("orgs", "join", "Telco", "--community", "telecom", "--community", "ict")[0] == 0
    assert renkei("orgs", "leave", "Telco", "--community", "ict")[0] == 0
    assert renkei("orgs", "list")[1] == "1\tmember\ttelecom\tTelco\n"
    code, _, err = renkei("orgs", "leave", "Telco", "--community", "ict")
    assert (code, err) == (2, "error: 'Telco' is not in the community 'ict'\n")


def test_a_second_hub_is_refused(renkei_home: Path) -> None:
    renkei("orgs", "add", "NISC", "--hub")
    assert renkei("orgs", "add", "Other", "--hub") == (
        2, "", "error: the hub is already 'NISC'\n")


def test_errors_in_japanese(renkei_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_LANG", "ja")
    renkei("orgs", "add", "NISC")
    assert renkei("orgs", "add", "NISC") == (2, "", "エラー: 組織 'NISC' は既に登録されています\n")
    code, _, err = renkei("tokens", "create", "--org", "NISC", "--scope", "write")
    assert (code, err) == (
        2, "エラー: 不明なスコープ 'write' です。read、submit、admin のいずれかを指定してください\n")


@pytest.mark.usefixtures("members_set_up")
def test_users_add_and_list(database: Database) -> None:
    code, out, err = renkei("users", "add", "--org", "NISC", "--role", "hub-analyst",
                            "--name", "山田 太郎", "Analyst@NISC.example",
                            stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, err
    # The prompt goes to stderr; the test runner's stand-in for getpass echoes a newline to
    # stdout where the real one writes to the terminal, hence the last line only.
    assert "Password" in err
    assert out.splitlines()[-1] == "2\tanalyst@nisc.example"
    assert renkei("users", "list")[1].splitlines() == [
        "1\talice@bank.example\tmember-submitter\tactive\tExample Bank",
        "2\tanalyst@nisc.example\thub-analyst\tactive\tNISC",
    ]
    assert renkei("users", "list", "--org", "NISC")[1].count("\n") == 1
    with database.session() as session:
        stored = session.scalars(select(User).where(User.id == 2)).one()
        assert (stored.name, stored.role) == ("山田 太郎", Role.HUB_ANALYST)
        assert PASSWORD not in stored.password_hash


@pytest.mark.usefixtures("members_set_up")
def test_users_add_refuses_mismatched_prompt_and_bad_input() -> None:
    code, _, _ = renkei("users", "add", "--org", "NISC", "--role", "hub-admin", "a@nisc.example",
                        stdin=f"{PASSWORD}\nsomething else entirely\n")
    assert code != 0
    assert renkei("users", "add", "--org", "NISC", "--role", "member-reader", "--password-stdin",
                  "b@nisc.example", stdin=PASSWORD + "\n") == (
        2, "", "error: member-reader is a role for users of member organisations\n")
    assert renkei("users", "add", "--org", "NISC", "--role", "hub-admin", "--password-stdin",
                  "c@nisc.example", stdin="short\n") == (
        2, "", "error: password must be 12 to 1024 characters\n")
    code, _, err = renkei("users", "add", "--org", "NISC", "--role", "boss", "--password-stdin",
                          "d@nisc.example", stdin=PASSWORD + "\n")
    assert code == 2
    assert "boss" in err
    assert renkei("users", "list", "--org", "NISC")[1] == ""


@pytest.mark.usefixtures("members_set_up")
def test_tokens_create_prints_only_the_token(database: Database) -> None:
    code, out, err = renkei("tokens", "create", "--org", "Example Bank", "--scope", "read,submit",
                            "--user", "ALICE@bank.example", "--expires-days", "7",
                            "--label", "TAXII client")
    assert code == 0, err
    token = out.removesuffix("\n")
    assert out == token + "\n"
    assert members.TOKEN_PATTERN.fullmatch(token)
    key_id = token.split("_")[1]
    assert key_id in err
    assert "shown only this once" in err
    with database.session() as session:
        principal = members.authenticate_token(session, SystemClock(), token)
        assert principal.organisation_name == "Example Bank"
        assert principal.scopes == {members.Scope.READ, members.Scope.SUBMIT}
        created = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "tokens.create")).one()
        assert created.actor.startswith("local:")
    code, listed, _ = renkei("tokens", "list", "--org", "Example Bank")
    assert code == 0
    fields = listed.rstrip("\n").split("\t")
    assert fields[:4] == [key_id, "active", "read,submit", "alice@bank.example"]
    assert fields[-1] == "TAXII client"
    assert fields[6] != "-"  # last used: just now
    assert token.split("_", 2)[2] not in listed


@pytest.mark.usefixtures("members_set_up")
def test_tokens_revoke(database: Database) -> None:
    token = renkei("tokens", "create", "--org", "Example Bank", "--scope", "read")[1].strip()
    key_id = token.split("_")[1]
    assert renkei("tokens", "revoke", key_id) == (0, f"{key_id}\trevoked\n", "")
    assert renkei("tokens", "revoke", key_id)[0] == 0
    assert renkei("tokens", "list", "--org", "Example Bank")[1].split("\t")[1] == "revoked"
    with database.session() as session, pytest.raises(AuthenticationError):
        members.authenticate_token(session, SystemClock(), token)
    assert renkei("tokens", "revoke", "feedfacefeedface") == (
        2, "", "error: no token with the id 'feedfacefeedface'\n")


@pytest.mark.usefixtures("members_set_up")
@pytest.mark.parametrize(("args", "message"), [
    (["--org", "Nobody", "--scope", "read"], "no organisation named 'Nobody'"),
    (["--org", "Example Bank", "--scope", "admin"], "scope admin is not allowed here"),
    (["--org", "NISC", "--scope", "read", "--user", "alice@bank.example"],
     "'alice@bank.example' is not a user of 'NISC'"),
    (["--org", "Example Bank", "--scope", "read", "--user", "ghost@bank.example"],
     "no user with the e-mail address 'ghost@bank.example'"),
])
def test_tokens_create_errors_print_nothing_on_stdout(args: list[str], message: str) -> None:
    code, out, err = renkei("tokens", "create", *args)
    assert (code, out) == (2, "")
    assert message in err
    assert renkei("tokens", "list", "--org", "Example Bank")[1] == ""


@pytest.mark.usefixtures("members_set_up")
def test_tokens_create_bounds_expiry() -> None:
    code, out, _ = renkei("tokens", "create", "--org", "Example Bank", "--scope", "read",
                          "--expires-days", "0")
    assert (code, out) == (2, "")


@pytest.mark.usefixtures("members_set_up")
def test_disable_stops_tokens(database: Database) -> None:
    token = renkei("tokens", "create", "--org", "Example Bank", "--scope", "read",
                   "--user", "alice@bank.example")[1].strip()
    assert renkei("users", "disable", "alice@bank.example")[0] == 0
    assert "disabled" in renkei("users", "list")[1]
    with database.session() as session, pytest.raises(AuthenticationError):
        members.authenticate_token(session, SystemClock(), token)
    assert renkei("users", "enable", "alice@bank.example")[0] == 0
    with database.session() as session:
        assert members.authenticate_token(session, SystemClock(), token).user_id == 1


@pytest.mark.usefixtures("members_set_up")
def test_users_password(database: Database) -> None:
    new = "another long enough secret"
    assert renkei("users", "password", "--password-stdin", "alice@bank.example",
                  stdin=new + "\n")[0] == 0
    with database.session() as session:
        assert members.authenticate_password(session, SystemClock(), "alice@bank.example", new)
    assert renkei("users", "password", "--password-stdin", "nobody@bank.example",
                  stdin=new + "\n") == (
        2, "", "error: no user with the e-mail address 'nobody@bank.example'\n")
