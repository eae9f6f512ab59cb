"""`renkei plan …`: the annual plan's measures and its public comments, without a database;
and (cli_status, cli_audits, cli_consultation) the records kept in the database.

Two outputs are a public interface, kept stable (docs/plan.md): ``measures --json`` prints
JSON Lines, one measure per line with ``id``, ``chapter``, ``section``, ``subsection``,
``number``, ``page``, ``owners`` and ``text``; ``comments summary --json`` prints one JSON
object with ``submitters``, ``comments``, ``by_submitter_kind``, ``by_category``,
``changed`` and ``changed_total``, computed from the comments, and ``published`` and
``differences`` when the data records the publisher's own figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from renkei.core.cli_output import fail, literal
from renkei.core.config import load_config
from renkei.core.i18n import Translate, translator
from renkei.plan.cli_audits import audits_app
from renkei.plan.cli_consultation import consultation_app
from renkei.plan.cli_status import report, status_app, year_app
from renkei.plan.comments import differences, select, summarise
from renkei.plan.load import PlanDataError, comment_record, load_2015, load_comments, load_plan
from renkei.plan.model import Category, Comment, CommentSummary, Node, NodeKind, Plan

app = typer.Typer(help="The annual plan: its measures and public comments (Cybersecurity 2015 shipped).",
                  no_args_is_help=True)
comments_app = typer.Typer(help="Public comments on the plan and what they add up to.",
                           no_args_is_help=True)
app.add_typer(comments_app, name="comments")
# the records kept in the database: statuses, years, audits, consultations, the report
app.add_typer(status_app, name="status")
app.add_typer(year_app, name="year")
app.add_typer(audits_app, name="audits")
app.add_typer(consultation_app, name="consultation")
app.command("report")(report)

PlanOption = Annotated[Path | None, typer.Option(
    "--plan", help="A plan file (YAML, docs/plan.md) instead of the shipped 2015 plan; with --comments, the plan their refs name.")]
CommentsOption = Annotated[Path | None, typer.Option(
    "--comments", help="A comment file (YAML or CSV, docs/plan.md) instead of the shipped 2015 comments.")]


def _plan(path: Path | None, _: Translate) -> Plan:
    try:
        return load_plan(path) if path is not None else load_2015()[0]
    except PlanDataError as exc:
        fail(exc.translate(_), _)


def _comments(plan_path: Path | None, comments_path: Path | None, _: Translate,
              ) -> tuple[list[Comment], CommentSummary | None]:
    """The shipped 2015 comments, or a file's (linked to ``--plan`` when given)."""
    try:
        if comments_path is None:
            _plan2015, comments, published = load_2015()
            return comments, published
        plan = load_plan(plan_path) if plan_path is not None else None
        return load_comments(comments_path, plan)
    except PlanDataError as exc:
        fail(exc.translate(_), _)


def _ancestors(plan: Plan, node: Node) -> dict[NodeKind, str]:
    found: dict[NodeKind, str] = {}
    current: Node | None = node
    while current is not None:
        found[current.kind] = current.id
        current = plan.by_id[current.parent] if current.parent else None
    return found


def measure_record(plan: Plan, node: Node) -> dict[str, Any]:
    """One line of ``measures --json``."""
    above = _ancestors(plan, node)
    return {"id": node.id, "chapter": above.get(NodeKind.CHAPTER),
            "section": above.get(NodeKind.SECTION), "subsection": above.get(NodeKind.SUBSECTION),
            "number": node.number, "page": node.page, "owners": list(node.owners),
            "text": node.text}


@app.command()
def measures(
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one measure per line.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="Only the measures naming this body (内閣官房, 総務省, IPA …).")] = None,
    chapter: Annotated[str | None, typer.Option("--chapter", help="Only this chapter (1 to 5) or section (2.3).")] = None,
    plan_path: PlanOption = None,
) -> None:
    """List the plan's measures with their ids, responsible bodies and text."""
    _ = translator(load_config().lang)
    plan = _plan(plan_path, _)
    chosen = [m for m in plan.measures()
              if (owner is None or owner in m.owners)
              and (chapter is None or chapter in _ancestors(plan, m).values())]
    if as_json:
        for node in chosen:
            sys.stdout.write(json.dumps(measure_record(plan, node), ensure_ascii=False) + "\n")
        return
    # a --plan file's text is anyone's: shown as it is (``literal``), never read as markup
    table = Table(title=literal(_("{title}: {count} measures").format(title=plan.title,
                                                                      count=len(chosen))))
    for header in (_("id"), _("owners"), _("page"), _("measure")):
        table.add_column(header, overflow="fold")
    for node in chosen:
        table.add_row(literal(node.id), literal("、".join(node.owners)), str(node.page or "-"),
                      literal(node.text))
    Console().print(table)


@comments_app.command("list")
def comments_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one comment per line.")] = False,
    category: Annotated[str | None, typer.Option("--category", help="Only this category: support, amendment, policy or other.")] = None,
    plan_path: PlanOption = None,
    comments_path: CommentsOption = None,
) -> None:
    """List the public comments: number, submitter, section, category, answer."""
    _ = translator(load_config().lang)
    chosen_category = None
    if category is not None:
        chosen_category = next((c for c in Category if category in (c.key, c.value)), None)
        if chosen_category is None:
            fail(_("no category {name}; use support, amendment, policy or other").format(name=category), _)
    comments, _published = _comments(plan_path, comments_path, _)
    chosen = select(comments, chosen_category)
    if as_json:
        for comment in chosen:
            record = comment_record(comment)
            record["category"] = comment.category.key
            record["category_ja"] = comment.category.value
            record["measure_ids"] = list(comment.measure_ids)
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    table = Table(title=_("{count} public comments").format(count=len(chosen)))
    for header in (_("no."), _("submitter"), _("section"), _("category"), _("plan changed"),
                   _("summary")):
        table.add_column(header, overflow="fold")
    for comment in chosen:
        table.add_row(str(comment.number), literal(comment.submitter),
                      literal(comment.section or "-"), _(comment.category.key),
                      _("yes") if comment.changed else "",
                      literal(comment.summary.split("\n", 1)[0]))
    Console().print(table)


@comments_app.command("summary")
def comments_summary(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with the figures.")] = False,
    plan_path: PlanOption = None,
    comments_path: CommentsOption = None,
) -> None:
    """What the comments add up to (資料1-3), beside the figures the publisher gave."""
    _ = translator(load_config().lang)
    comments, published = _comments(plan_path, comments_path, _)
    computed = summarise(comments)
    if as_json:
        document: dict[str, Any] = computed.as_json()
        if published is not None:
            document["published"] = published.as_json()
            document["differences"] = differences(computed, published)
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    _print_summary(computed, published, _)


def _print_summary(computed: CommentSummary, published: CommentSummary | None, _: Translate) -> None:
    table = Table(title=_("public comments"))
    table.add_column("")
    table.add_column(_("counted from the comments"), justify="right")
    if published is not None:
        table.add_column(_("as published"), justify="right")
    ours, theirs = _rows(computed, _), _rows(published, _) if published else []
    for index, (label, value) in enumerate(ours):
        cells = [label, value] + ([theirs[index][1]] if theirs else [])
        style = "bold yellow" if theirs and theirs[index][1] != value else None
        table.add_row(*cells, style=style)
    Console().print(table)
    if published is not None and differences(computed, published):
        Console(stderr=True).print(_("The comment table and the published figures differ; see docs/plan.md."),
                                   markup=False)


def _rows(summary: CommentSummary, _: Translate) -> list[tuple[str, str]]:
    rows = [(_("submitters"), str(summary.submitters)), (_("comments"), str(summary.comments))]
    for kind, figures in summary.by_kind.items():
        rows.append((_("{kind}: submitters").format(kind=_(kind.value)), str(figures.submitters)))
        rows.append((_("{kind}: comments").format(kind=_(kind.value)), str(figures.comments)))
    for category, count in summary.by_category.items():
        rows.append((_(category.key), str(count)))
    for category, count in summary.changed.items():
        if category is Category.AMENDMENT or count:
            rows.append((_("{category}: plan changed").format(category=_(category.key)), str(count)))
    return rows
