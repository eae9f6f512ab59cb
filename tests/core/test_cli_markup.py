"""`renkei orgs|users|tokens …` and `renkei console …` print names, addresses and labels as
they are: "[…]" in them is neither obeyed nor fatal."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from renkei.core import members
from tests.cli_markup import hostile, run


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members, "PASSWORD_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@hostile
def test_names_addresses_and_labels_are_printed_as_they_are(renkei_home: Path,
                                                            markup: str) -> None:
    member, community, email = f"Bank {markup}", f"finance {markup}", f"{markup}@bank.example"
    out, _ = run(["orgs", "add", member, "--community", community])
    assert out.endswith(f"\t{member}\n")
    out, _ = run(["orgs", "list"])
    assert f"\t{community}\t{member}\n" in out
    out, _ = run(["users", "add", email, "--org", member, "--role", "member-reader",
                  "--name", f"Alice {markup}", "--password-stdin"], stdin="x" * 12 + "\n")
    assert out.endswith(f"\t{email}\n")
    out, _ = run(["users", "list"])
    assert f"\t{email}\tmember-reader\tactive\t{member}\n" in out
    run(["tokens", "create", "--org", member, "--user", email, "--scope", "read",
         "--label", f"Laptop {markup}"])
    out, _ = run(["tokens", "list", "--org", member])
    assert f"\t{email}\t" in out
    assert out.endswith(f"\tLaptop {markup}\n")
    out, _ = run(["console", "totp-reset", email])
    assert f"Second factor of {email} reset" in out
