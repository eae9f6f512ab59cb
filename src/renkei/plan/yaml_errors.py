"""Why an uploaded file is not YAML, in words that translate and say where to look.

PyYAML explains itself in English sentences made at run time ("mapping values are not
allowed here"), which no catalogue can hold, and the console shows errors in Japanese too.
So its common problems are mapped to fixed messages of ours, each naming the line and
column (counted from 1); any other says only where the file stops being YAML. The
library's own words stay on the exception's cause, for a traceback, and nowhere else.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from renkei.core.i18n import gettext_noop
from renkei.plan.errors import PlanDataError

NOT_YAML = gettext_noop("{file}: not YAML (line {line}, column {column})")
NOT_YAML_NOWHERE = gettext_noop("{file}: not YAML")
TOO_DEEP = gettext_noop("{file}: not YAML: lists or mappings nested too deeply to read")
CONTROL = gettext_noop(
    "{file}: not YAML (line {line}, column {column}): a control character (U+{code}) that "
    "YAML does not allow")

# (the start of PyYAML's context, the start of its problem, our message, whether the place
# to name is where the construct began rather than where the parser gave up); first match
_RULES: tuple[tuple[str, str, str, bool], ...] = (
    ("", "mapping values are not allowed", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a ':' where no key can start; put "
        "text that holds ': ' in quotes, or check the indentation"), False),
    ("", "sequence entries are not allowed", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a '-' where no list item can "
        "start; check the indentation"), False),
    ("", "found character '\\t'", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a tab; indent with spaces"), False),
    ("", "found character", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a character that cannot start a "
        "value; put the value in quotes"), False),
    ("while scanning a quoted scalar", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a quote that is never closed"), True),
    ("while scanning a double-quoted scalar", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a backslash escape that "
        "double-quoted text does not know; put text with backslashes in single quotes"), False),
    ("while scanning a simple key", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a line with no ':' after its key"),
     True),
    ("while parsing a flow sequence", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): the list that '[' opens on line "
        "{start} needs ',' between its items and ']' at its end"), False),
    ("while parsing a flow mapping", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): the mapping that '{{' opens on line "
        "{start} needs ',' between its entries and '}}' at its end"), False),
    ("while parsing a block", "expected <block end>", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): not indented like the lines before "
        "it, or text after a quoted value"), False),
    ("", "could not determine a constructor", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a tag (!...) that these files do "
        "not allow"), False),
    ("", "found undefined alias", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): an alias (*name) with no anchor "
        "(&name) before it"), False),
    ("expected a single document", "", gettext_noop(
        "{file}: not YAML (line {line}, column {column}): a second document (---); a file "
        "holds one"), False),
)
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # as PyYAML counts lines


def yaml_error(path: Path | str, text: str, error: yaml.YAMLError | RecursionError,
               ) -> PlanDataError:
    """The refusal for ``text`` (named ``path``) that PyYAML could not read."""
    if isinstance(error, RecursionError):  # brackets nested thousands deep
        return PlanDataError(TOO_DEEP, file=path)
    if isinstance(error, yaml.reader.ReaderError):
        line, column = _place(text, error.position)
        return _located(CONTROL, path, line, column, code=f"{error.character:04X}")
    context = getattr(error, "context", None) or ""
    problem = getattr(error, "problem", None) or ""
    problem_mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    start = {"start": context_mark.line + 1} if context_mark is not None else {}
    for context_start, problem_start, template, at_context in _RULES:
        if context.startswith(context_start) and problem.startswith(problem_start):
            mark = context_mark if at_context else problem_mark
            if mark is not None and (start or "{start}" not in template):
                return _located(template, path, mark.line + 1, mark.column + 1, **start)
            break
    if problem_mark is None:
        return PlanDataError(NOT_YAML_NOWHERE, file=path)
    return _located(NOT_YAML, path, problem_mark.line + 1, problem_mark.column + 1)


def _place(text: str, offset: int) -> tuple[int, int]:
    """The line and column (from 1) of the character at ``offset``."""
    before = text[:max(0, offset)]
    breaks = list(_LINE_BREAK.finditer(before))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, len(before) - line_start + 1


def _located(template: str, path: Path | str, line: int, column: int,
             **fields: object) -> PlanDataError:
    error = PlanDataError(template, file=path, line=line, column=column, **fields)
    error.details = {"line": line, "column": column}
    return error
