"""`renkei plan consultation …`: a new public consultation, from the comments received to
the published results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from renkei.core.audit import current_actor
from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import record_id, unit_of_work
from renkei.core.time import SystemClock

consultation_app = typer.Typer(
    help="A public consultation: import, categorise, draft and approve answers, publish.",
    no_args_is_help=True)
Key = Annotated[str, typer.Argument(help="The consultation's key.")]
Number = Annotated[int, record_id("The comment's number (通し番号).", "NUMBER", minimum=0)]


@consultation_app.command("create")
def consultation_create(
    key: Key,
    year: Annotated[int, typer.Option("--year", help="The fiscal year of the plan consulted on.")],
    title: Annotated[str, typer.Option("--title", help="What is consulted on.")] = "",
) -> None:
    """Open a consultation."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        made = consultation.create(session, SystemClock(), key, title, year,
                                   actor=current_actor())
        typer.echo(f"{made.key}\t{made.fiscal_year}\t{made.state}")


@consultation_app.command("import")
def consultation_import(
    key: Key,
    path: Annotated[Path, typer.Argument(help="A comment file (YAML or CSV, docs/plan.md); category and answer may be missing.")],
) -> None:
    """Import the comments received; the same comments again change nothing."""
    from renkei.plan import consultation
    from renkei.plan.load import PlanDataError, read_bytes

    with unit_of_work() as (session, _):
        try:
            data = read_bytes(path, consultation.MAX_IMPORT_BYTES)
        except PlanDataError as exc:
            _fail(exc.translate(_), _)
        done = consultation.import_comments(session, SystemClock(), key, data, path.name,
                                            actor=current_actor())
        typer.echo(_("{added} comments added, {unchanged} unchanged").format(
            added=done.added, unchanged=done.unchanged))


@consultation_app.command("list")
def consultation_list(
    key: Key,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one comment per line.")] = False,
) -> None:
    """The comments with their category, answer and where each stands."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        rows = [consultation.describe(row) for row in consultation.comments(session, key)]
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            typer.echo(f"{row['number']}\t{_(row['state'])}\t"
                       f"{_(row['category']) if row['category'] else '-'}\t"
                       f"{row['submitter']}\t{row['summary'].split(chr(10), 1)[0][:80]}")


@consultation_app.command("categorise")
def consultation_categorise(
    key: Key,
    number: Number,
    category: Annotated[str, typer.Argument(help="support, amendment, policy or other (or 賛同意見 …).")],
) -> None:
    """Give a comment its category."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        row = consultation.categorise(session, SystemClock(), key, number,
                                      consultation.parse_category(category),
                                      actor=current_actor())
        typer.echo(f"{row.number}\t{consultation.state_of(row)}")


@consultation_app.command("draft")
def consultation_draft(
    key: Key,
    number: Number,
    answer: Annotated[str, typer.Option("--answer", help="The answer (御意見に対する考え方).")],
    changed: Annotated[bool, typer.Option("--changed", help="The plan's text was changed because of the comment.")] = False,
) -> None:
    """Draft (or redraft) a comment's answer; a redraft needs approving again."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        row = consultation.draft(session, SystemClock(), key, number, answer, changed=changed,
                                 actor=current_actor())
        typer.echo(f"{row.number}\t{consultation.state_of(row)}")


@consultation_app.command("approve")
def consultation_approve(key: Key, number: Number) -> None:
    """Approve a drafted answer; the approver must not be its drafter."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        row = consultation.approve(session, SystemClock(), key, number, actor=current_actor())
        typer.echo(f"{row.number}\t{consultation.state_of(row)}")


@consultation_app.command("publish")
def consultation_publish(
    key: Key,
    out: Annotated[Path | None, typer.Option("--out", help="Write the results (renkei-comments/1 YAML) to this file.")] = None,
) -> None:
    """Publish the results once every answer is approved."""
    from renkei.plan import consultation

    with unit_of_work() as (session, _):
        consultation.publish(session, SystemClock(), key, actor=current_actor())
        text = consultation.results_yaml(session, key)
        _published, _comments, summary = consultation.results(session, key)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    typer.echo(json.dumps(summary.as_json(), ensure_ascii=False))
