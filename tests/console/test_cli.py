"""`renkei console totp-reset`: a lost second factor is forgotten, and sessions end."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from renkei.cli import app
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Role, User
from renkei.core.time import SystemClock


def test_totp_reset_forgets_the_second_factor(renkei_home: Path) -> None:
    database = Database.from_config(load_config())
    clock = SystemClock()
    try:
        with database.session() as session:
            org = orgs.add(session, clock, "member")
            user = members.add_user(session, clock, organisation=org, email="a@member.example",
                                    role=Role.MEMBER_READER, password="x" * 12)
            user.totp_secret, user.totp_enabled_at = "A" * 32, clock.now()
        result = CliRunner().invoke(app, ["console", "totp-reset", "A@member.example"])
        assert result.exit_code == 0, result.output
        assert "reset" in result.output
        with database.session() as session:
            user = session.get_one(User, user.id)
            assert user.totp_secret is None
            assert user.totp_enabled_at is None
        missing = CliRunner().invoke(app, ["console", "totp-reset", "nobody@member.example"])
        assert missing.exit_code == 2
        assert "no user" in missing.output
    finally:
        database.dispose()
