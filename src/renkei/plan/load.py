"""Plans and public comments from their files: YAML (plan and comments) or CSV (comments).

The format is documented in docs/plan.md; the shipped 2015 data is the converter's output
(``renkei.plan.seed``) and ``load_2015()`` reads it from the package. Every file is
untrusted: it is bounded in size, must be UTF-8, and an entry that is not as documented
stops the load with an error naming the file, the entry and the field — a plan with a
hole in it would give wrong figures, so nothing is skipped silently.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from renkei.plan.errors import PlanDataError as PlanDataError  # raised by every loader
from renkei.plan.model import (
    Category,
    Comment,
    CommentSummary,
    GlossaryEntry,
    HeadlineMeasure,
    KindFigures,
    Node,
    NodeKind,
    Plan,
    ReceivedComment,
    SubmitterKind,
)
from renkei.plan.yaml_errors import yaml_error

PLAN_FORMAT = "renkei-plan/1"
COMMENTS_FORMAT = "renkei-comments/1"
MAX_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_NUMBER = 2**31 - 1  # numbers are kept in INTEGER columns: 32 bits on PostgreSQL
MAX_TEXT_CHARS = 20_000  # a measure's text, a comment, its reason or answer
MAX_ID_CHARS = 100  # a node's id (plan.store.MEASURE_ID_LENGTH), a page as printed
MAX_NAME_CHARS = 200  # a submitter (its column's width)
MAX_SECTION_CHARS = 1_000  # a node's or framework's title, a comment's section
CSV_COLUMNS = ("number", "submitter", "submitter_kind", "branch", "page", "section", "refs",
               "category", "summary", "reason", "answer", "changed")
_PARENT_KINDS = {NodeKind.CHAPTER: (), NodeKind.SECTION: (NodeKind.CHAPTER,),
                 NodeKind.SUBSECTION: (NodeKind.CHAPTER, NodeKind.SECTION),
                 NodeKind.MEASURE: (NodeKind.CHAPTER, NodeKind.SECTION, NodeKind.SUBSECTION)}
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0", "")


# --- reading ------------------------------------------------------------------------------


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A file's bytes, refused when larger than ``limit`` (default MAX_BYTES)."""
    limit = MAX_BYTES if limit is None else limit
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise PlanDataError("{file}: cannot read: {reason}", file=path, reason=exc.strerror) from exc
    if len(data) > limit:
        raise PlanDataError("{file}: more than {limit} bytes", file=path, limit=limit)
    return data


def decode(data: bytes, path: Path | str, limit: int | None = None) -> str:
    """UTF-8 text (a BOM allowed) of at most ``limit`` bytes (default MAX_BYTES)."""
    limit = MAX_BYTES if limit is None else limit
    if len(data) > limit:
        raise PlanDataError("{file}: more than {limit} bytes", file=path, limit=limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanDataError("{file}: not UTF-8 text (byte {offset})", file=path,
                            offset=exc.start) from exc


def _read_text(path: Path) -> str:
    return decode(read_bytes(path), path)


def read_yaml(path: Path | str, text: str, expected_format: str) -> Mapping[str, Any]:
    """A YAML mapping whose ``format`` is ``expected_format`` (no aliases)."""
    return _read_yaml(path, text, expected_format)


def _read_yaml(path: Path | str, text: str, expected_format: str) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(text)
    except RecursionError as exc:  # brackets nested thousands deep
        raise yaml_error(path, text, exc) from None
    except yaml.YAMLError as exc:
        raise yaml_error(path, text, exc) from exc
    if not isinstance(document, dict):
        raise PlanDataError("{file}: expected a mapping with format: {format}", file=path,
                            format=expected_format)
    if document.get("format") != expected_format:
        raise PlanDataError("{file}: expected format: {format}", file=path, format=expected_format)
    return document


class _Entry:
    """One mapping of a file, for field access that names the file and entry on error."""

    def __init__(self, path: Path | str, where: str, value: object) -> None:
        if not isinstance(value, dict):
            raise PlanDataError("{file}: {where}: expected a mapping", file=path, where=where)
        self.path, self.where, self.value = path, where, value

    def _fail(self, template: str, **fields: object) -> PlanDataError:
        return PlanDataError(template, file=self.path, where=self.where, **fields)

    def text(self, name: str, required: bool = True, most: int = MAX_TEXT_CHARS) -> str:
        """A text field of at most ``most`` characters: a field too long for what holds it
        is refused with the file, never cut short or left to the database to refuse."""
        value = self.value.get(name)
        if value is None or value == "":
            if required:
                raise self._fail("{file}: {where}: missing {field}", field=name)
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self._fail("{file}: {where}: {field} must be text", field=name)
        text = str(value)
        if len(text) > most:
            raise self._fail("{file}: {where}: {field} is longer than {limit} characters",
                             field=name, limit=most)
        return self._no_nul(name, text)

    def _no_nul(self, name: str, text: str) -> str:
        """YAML's "\\0" makes one; no text may hold it (PostgreSQL keeps none)."""
        if "\x00" in text:
            raise self._fail("{file}: {where}: {field} holds a NUL character", field=name)
        return text

    def number(self, name: str, required: bool = True) -> int | None:
        value = self.value.get(name)
        if value is None or value == "":
            if required:
                raise self._fail("{file}: {where}: missing {field}", field=name)
            return None
        digits = value.strip() if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_NUMBER)):
            value = int(digits)  # ASCII: str.isdigit() also takes "²", which int() refuses
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
            raise self._fail("{file}: {where}: {field} must be a whole number up to {most}",
                             field=name, most=MAX_NUMBER)
        return value

    def flag(self, name: str) -> bool:
        value = self.value.get(name, False)
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            raise self._fail("{file}: {where}: {field} must be true or false", field=name)
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.value.get(name) or []
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._fail("{file}: {where}: {field} must be a list of text", field=name)
        return tuple(self._no_nul(name, v) for v in value)

    def choice(self, name: str, read: Any) -> Any:
        text = self.text(name)
        try:
            return read(text)
        except ValueError:
            raise self._fail("{file}: {where}: unknown {field} {value}", field=name,
                             value=text) from None


Entry = _Entry  # for the other file formats of the plan domain (frameworks)


def entries(path: Path | str, document: Mapping[str, Any], key: str, required: bool = True) -> list[Any]:
    """The list under ``key`` (bounded to MAX_ENTRIES)."""
    return _entries(path, document, key, required)


def _entries(path: Path | str, document: Mapping[str, Any], key: str, required: bool = True) -> list[Any]:
    value = document.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise PlanDataError("{file}: {field} must be a list", file=path, field=key)
    if len(value) > MAX_ENTRIES:
        raise PlanDataError("{file}: more than {limit} {field}", file=path, limit=MAX_ENTRIES,
                            field=key)
    return value


# --- plans --------------------------------------------------------------------------------


def load_plan(path: Path) -> Plan:
    """A plan from its YAML file (docs/plan.md, "Plan files")."""
    return parse_plan(_read_text(path), path)


def parse_plan(text: str, path: Path | str) -> Plan:
    """A plan from the text of its YAML file; ``path`` names it in errors."""
    document = _read_yaml(path, text, PLAN_FORMAT)
    header = _Entry(path, "plan", document)
    year = header.number("year")
    assert year is not None
    nodes: list[Node] = []
    seen: dict[str, Node] = {}
    for index, raw in enumerate(_entries(path, document, "nodes")):
        entry = _Entry(path, f"nodes[{index}]", raw)
        node_id = entry.text("id", most=MAX_ID_CHARS)
        entry.where = f"nodes[{index}] ({node_id})"
        kind = entry.choice("kind", NodeKind)
        parent = entry.text("parent", required=kind is not NodeKind.CHAPTER,
                            most=MAX_ID_CHARS) or None
        if node_id in seen:
            raise entry._fail("{file}: {where}: duplicate id {id}", id=node_id)
        if parent is not None and (parent not in seen or seen[parent].kind not in _PARENT_KINDS[kind]):
            raise entry._fail("{file}: {where}: parent {parent} is not a {kinds} given before it",
                              parent=parent, kinds="/".join(k.value for k in _PARENT_KINDS[kind]))
        text = entry.text("text", required=kind is NodeKind.MEASURE)
        node = Node(node_id, kind, entry.text("number", required=False, most=MAX_ID_CHARS)
                    or node_id, entry.text("title", required=False, most=MAX_SECTION_CHARS), text,
                    entry.texts("owners"), parent,
                    entry.number("page", required=False))
        seen[node_id] = node
        nodes.append(node)
    headlines = []
    for index, raw in enumerate(_entries(path, document, "headlines", required=False)):
        entry = _Entry(path, f"headlines[{index}]", raw)
        measures = entry.texts("measures")
        unknown = [m for m in measures if m not in seen]
        if unknown:
            raise entry._fail("{file}: {where}: no measure {id}", id=unknown[0])
        headlines.append(HeadlineMeasure(entry.text("text"), entry.texts("owners"),
                                         entry.flag("others"), measures))
    glossary = []
    for index, raw in enumerate(_entries(path, document, "glossary", required=False)):
        entry = _Entry(path, f"glossary[{index}]", raw)
        glossary.append(GlossaryEntry(entry.text("term"), entry.text("definition")))
    return Plan(year, header.text("title"), tuple(nodes), tuple(headlines), tuple(glossary))


# --- comments -----------------------------------------------------------------------------


def _category(text: str) -> Category:
    """A category by its Japanese word (賛同意見 …) or its English name (support …)."""
    for category in Category:
        if text in (category.value, category.key):
            return category
    raise ValueError(text)


def _comment(entry: _Entry, plan: Plan | None) -> Comment:
    return Comment(**_comment_fields(entry, plan, answered=True))


def _comment_fields(entry: _Entry, plan: Plan | None, *, answered: bool) -> dict[str, Any]:
    """A comment's fields; without ``answered``, its category and answer may be missing."""
    number = entry.number("number")
    assert number is not None
    entry.where = f"{entry.where} (number {number})"
    submitter = entry.text("submitter", most=MAX_NAME_CHARS)
    kind_text = entry.text("submitter_kind", required=False)
    if kind_text:
        kind = entry.choice("submitter_kind", SubmitterKind)
    else:
        kind = SubmitterKind.INDIVIDUAL if submitter.startswith("個人") else SubmitterKind.ORGANISATION
    refs = entry.texts("refs")
    if any(len(ref) > MAX_ID_CHARS for ref in refs):
        raise entry._fail("{file}: {where}: {field} is longer than {limit} characters",
                          field="refs", limit=MAX_ID_CHARS)
    measure_ids: tuple[str, ...] = ()
    if plan is not None:
        unknown = [r for r in refs if r not in plan.by_id]
        if unknown:
            raise entry._fail("{file}: {where}: no plan node {id}", id=unknown[0])
        measure_ids = tuple(dict.fromkeys(m.id for ref in refs for m in plan.measures_under(ref)))
    category = (entry.choice("category", _category)
                if answered or entry.text("category", required=False) else None)
    return {
        "number": number, "submitter": submitter, "submitter_kind": kind,
        "summary": entry.text("summary"), "category": category,
        "answer": entry.text("answer", required=answered), "changed": entry.flag("changed"),
        "branch": entry.number("branch", required=False),
        "page": entry.text("page", required=False, most=MAX_ID_CHARS),
        "section": entry.text("section", required=False, most=MAX_SECTION_CHARS),
        "reason": entry.text("reason", required=False), "refs": refs,
        "measure_ids": measure_ids}


def _check_numbers(path: Path | str, comments: Sequence[Comment | ReceivedComment]) -> None:
    seen: set[int] = set()
    for comment in comments:
        if comment.number in seen:
            raise PlanDataError("{file}: comment number {number} appears twice", file=path,
                                number=comment.number)
        seen.add(comment.number)


def load_comments(path: Path, plan: Plan | None = None) -> tuple[list[Comment], CommentSummary | None]:
    """Comments from YAML (docs/plan.md, "Comment files") or CSV (by the file's suffix), and
    the figures the publisher gave for them when the YAML file records them. With a plan,
    each comment's ``refs`` must name its nodes, and ``measure_ids`` are filled in."""
    text = _read_text(path)
    if path.suffix.lower() == ".csv":
        comments = [_comment(_Entry(path, f"line {index + 2}", row), plan)
                    for index, row in enumerate(_csv_rows(path, text))]
        _check_numbers(path, comments)
        return comments, None
    document = _read_yaml(path, text, COMMENTS_FORMAT)
    comments = [_comment(_Entry(path, f"comments[{index}]", raw), plan)
                for index, raw in enumerate(_entries(path, document, "comments"))]
    _check_numbers(path, comments)
    published = document.get("published")
    return comments, None if published is None else _summary(path, published)


def load_received(data: bytes, name: str, plan: Plan | None = None) -> list[ReceivedComment]:
    """The comments a new consultation received, from a comment file's bytes (CSV when
    ``name`` ends in .csv, else YAML; docs/plan.md) in which category and answer may be
    missing. With a plan, ``refs`` are checked against it."""
    text = decode(data, name)
    if name.lower().endswith(".csv"):
        rows = _csv_rows(name, text, ("number", "submitter", "summary"))
        entries = [_Entry(name, f"line {index + 2}", row) for index, row in enumerate(rows)]
    else:
        document = _read_yaml(name, text, COMMENTS_FORMAT)
        entries = [_Entry(name, f"comments[{index}]", raw)
                   for index, raw in enumerate(_entries(name, document, "comments"))]
    received = [ReceivedComment(**_comment_fields(entry, plan, answered=False))
                for entry in entries]
    _check_numbers(name, received)
    return received


_CSV_REQUIRED = ("number", "submitter", "category", "summary", "answer")


def _csv_rows(path: Path | str, text: str,
              required: Sequence[str] = _CSV_REQUIRED) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[dict[str, str]] = []
    try:  # the header too: a quote left open in it reads on as far as the rows'
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise PlanDataError("{file}: no column {column}", file=path, column=missing[0])
        for row in reader:
            if len(rows) >= MAX_ENTRIES:
                raise PlanDataError("{file}: more than {limit} {field}", file=path,
                                    limit=MAX_ENTRIES, field="comments")
            rows.append({k: v for k, v in row.items() if isinstance(k, str)})
    except csv.Error as exc:  # its reason is English made at run time: ours instead
        if str(exc).startswith("field larger than field limit"):
            # line_num counts the lines of the records read whole: this record starts next
            raise PlanDataError("{file}: not CSV (line {line}): a field longer than {limit} "
                                "characters; is a quote left open?", file=path,
                                line=reader.line_num + 1, limit=csv.field_size_limit()) from exc
        raise PlanDataError("{file}: not CSV (line {line})", file=path,
                            line=reader.line_num) from exc
    return rows


def _summary(path: Path, raw: object) -> CommentSummary:
    entry = _Entry(path, "published", raw)

    def count(value: object, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise entry._fail("{file}: {where}: {field} must be a whole number", field=name)
        return value

    def table(name: str) -> Mapping[str, Any]:
        value = entry.value.get(name)
        if not isinstance(value, dict):
            raise entry._fail("{file}: {where}: missing {field}", field=name)
        return value

    kinds = table("by_submitter_kind")
    by_kind = {}
    for kind in SubmitterKind:
        figures = _Entry(path, f"published.by_submitter_kind.{kind.value}", kinds.get(kind.value))
        by_kind[kind] = KindFigures(figures.number("submitters") or 0, figures.number("comments") or 0)
    categories, changed = table("by_category"), table("changed")
    return CommentSummary(
        submitters=count(entry.value.get("submitters"), "submitters"),
        comments=count(entry.value.get("comments"), "comments"), by_kind=by_kind,
        by_category={c: count(categories.get(c.key, 0), f"by_category.{c.key}") for c in Category},
        changed={c: count(changed.get(c.key, 0), f"changed.{c.key}") for c in Category})


# --- the shipped 2015 data ----------------------------------------------------------------


def _data(name: str) -> Path:
    return Path(str(files("renkei.plan"))) / "data" / name


def load_2015() -> tuple[Plan, list[Comment], CommentSummary | None]:
    """The 2015 plan, its comments (linked to the plan's measures) and 資料1-3's figures."""
    plan = load_plan(_data("plan-2015.yaml"))
    comments, published = load_comments(_data("comments-2015.yaml"), plan)
    return plan, comments, published


# --- writing (the converter's output) -----------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a literal block, so the files read (and diff) like the plan."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _yaml(document: Mapping[str, Any]) -> str:
    return yaml.dump(dict(document), Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     width=10_000, default_flow_style=False)


def dump_plan(plan: Plan, note: str = "") -> str:
    nodes = []
    for node in plan.nodes:
        item: dict[str, Any] = {"id": node.id, "kind": node.kind.value, "number": node.number}
        if node.parent is not None:
            item["parent"] = node.parent
        if node.title:
            item["title"] = node.title
        if node.page is not None:
            item["page"] = node.page
        if node.owners:
            item["owners"] = list(node.owners)
        if node.text:
            item["text"] = node.text
        nodes.append(item)
    document = {
        "format": PLAN_FORMAT, "year": plan.year, "title": plan.title, "nodes": nodes,
        "headlines": [{"text": h.text, "owners": list(h.owners), "others": h.others,
                       "measures": list(h.measure_ids)} for h in plan.headlines],
        "glossary": [{"term": g.term, "definition": g.definition} for g in plan.glossary],
    }
    return (f"# {note}\n" if note else "") + _yaml(document)


def comment_record(comment: Comment) -> dict[str, Any]:
    """A comment as the YAML file holds it (and, with measure_ids, as JSON prints it)."""
    return {
        "number": comment.number, "submitter": comment.submitter,
        "submitter_kind": comment.submitter_kind.value, "branch": comment.branch,
        "page": comment.page, "section": comment.section, "refs": list(comment.refs),
        "category": comment.category.value, "summary": comment.summary,
        "reason": comment.reason, "answer": comment.answer, "changed": comment.changed,
    }


def dump_comments(year: int, comments: Sequence[Comment], published: CommentSummary | None,
                  note: str = "") -> str:
    document: dict[str, Any] = {"format": COMMENTS_FORMAT, "year": year}
    if published is not None:
        summary = published.as_json()
        summary.pop("changed_total")
        document["published"] = summary
    document["comments"] = [comment_record(c) for c in comments]
    return (f"# {note}\n" if note else "") + _yaml(document)

