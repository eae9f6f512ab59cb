"""docs/cli.md is the reference rendered from the code, and every command explains itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from renkei.cli import app
from renkei.core.clidoc import REGENERATE, render_cli_reference, undocumented

ROOT = Path(__file__).resolve().parents[2]
CLI_REFERENCE = ROOT / "docs" / "cli.md"

def test_cli_reference_is_current() -> None:
    written = CLI_REFERENCE.read_text(encoding="utf-8") if CLI_REFERENCE.exists() else ""
    assert written == render_cli_reference(app), (
        f"docs/cli.md does not match the command line; regenerate it: {REGENERATE}"
    )


def test_every_command_and_option_has_help() -> None:
    missing = undocumented(app)
    assert not missing, f"no help text: {', '.join(missing)} (give each a help= or a docstring)"


def test_reference_lists_every_command_option_and_help() -> None:
    demo = typer.Typer(help="Demo tool.")
    sub = typer.Typer(help="Things.")
    demo.add_typer(sub, name="things")

    @sub.command("add")
    def add(
        name: Annotated[str, typer.Argument(help="Name of the | thing.")],
        count: Annotated[int, typer.Option("--count", min=1, max=9, help="How *many*.")] = 3,
        tags: Annotated[list[str] | None, typer.Option("--tag", help="Tag, <any>.")] = None,
        keep: Annotated[bool, typer.Option("--keep/--drop")] = True,
    ) -> None:
        """Add a thing."""

    @demo.command()
    def zap() -> None:
        """Zap everything."""

    text = render_cli_reference(demo, "demo")
    assert text.index("## `demo things add`") < text.index("## `demo zap`")
    assert "demo things add [OPTIONS] NAME" in text
    assert "| `NAME` | text | required | Name of the \\| thing. |" in text
    assert "| `--count` | integer, 1 to 9 | `3` | How \\*many\\*. |" in text
    assert "| `--tag` | text, repeatable | — | Tag, \\<any\\>. |" in text
    assert "| `--keep` / `--drop` | flag | `--keep` | — |" in text
    assert "[`zap`](#demo-zap) | Zap everything. |" in text
    assert render_cli_reference(demo, "demo") == text
    assert undocumented(demo, "demo") == ["demo things add --keep"]
