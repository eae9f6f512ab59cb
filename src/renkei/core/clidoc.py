"""The command-line reference (docs/cli.md), rendered from the Typer app itself.

The reference is generated, never written by hand, so it cannot drift from the code:
``python -m renkei.core.clidoc > docs/cli.md`` regenerates it, and a test fails when the
file and the code disagree or when a command, argument or option has no help text.

This module knows nothing of renkei's commands: it walks whatever Typer app it is given.
Commands come in alphabetical order at each level, parameters in the order they are
declared, so the output only changes when the command line does.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

import typer
import typer.main
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

REGENERATE = "python -m renkei.core.clidoc > docs/cli.md"
NONE = "—"
_LIST = re.compile(r"^list\[(.*)\]$")
_TYPE_NAMES = {"str": "text", "int": "integer", "int range": "integer", "float": "number",
               "float range": "number", "bool": "boolean", "path": "path"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<>\[\]|])")


@dataclass(frozen=True)
class Node:
    """One command or group, with its full path (``("renkei", "logs", "scan")``)."""

    path: tuple[str, ...]
    command: TyperCommand | TyperGroup
    context: typer.Context

    @property
    def title(self) -> str:
        return " ".join(self.path)

    @property
    def anchor(self) -> str:
        return "-".join(self.path)

    @property
    def subcommands(self) -> list[tuple[str, TyperCommand | TyperGroup]]:
        if not isinstance(self.command, TyperGroup):
            return []
        found = [(name, _typer_command(sub, name)) for name, sub in self.command.commands.items()]
        return sorted(((n, c) for n, c in found if not c.hidden), key=lambda item: item[0])

    @property
    def arguments(self) -> list[TyperArgument]:
        return [p for p in self.command.params if isinstance(p, TyperArgument) and not p.hidden]

    @property
    def options(self) -> list[TyperOption]:
        return [p for p in self.command.params if isinstance(p, TyperOption) and not p.hidden]


def _typer_command(command: object, name: str) -> TyperCommand | TyperGroup:
    if not isinstance(command, TyperCommand | TyperGroup):
        raise TypeError(f"{name}: not a Typer command ({type(command).__name__})")
    return command


def walk(app: typer.Typer, name: str = "renkei") -> Iterator[Node]:
    """Every visible command of ``app``, depth first, sub-commands alphabetically."""
    root = _typer_command(typer.main.get_command(app), name)
    stack = [Node((name,), root, typer.Context(root, info_name=name))]
    while stack:
        node = stack.pop()
        yield node
        children = [
            Node((*node.path, sub_name), sub, typer.Context(sub, info_name=sub_name,
                                                             parent=node.context))
            for sub_name, sub in node.subcommands
        ]
        stack.extend(reversed(children))


def help_text(command: TyperCommand | TyperGroup) -> str:
    """A command's help as click shows it: the docstring, cut at a form feed."""
    text = command.help or ""
    return inspect.cleandoc(text.split("\f", 1)[0]).strip()


def short_help(command: TyperCommand | TyperGroup) -> str:
    return command.short_help or help_text(command).split("\n\n", 1)[0]


def param_help(param: TyperArgument | TyperOption) -> str:
    return inspect.cleandoc(param.help or "").strip()


def undocumented(app: typer.Typer, name: str = "renkei") -> list[str]:
    """Commands, arguments and options without help text, e.g. ``renkei logs alerts --src``."""
    missing: list[str] = []
    for node in walk(app, name):
        if not help_text(node.command):
            missing.append(node.title)
        missing += [f"{node.title} {_argument_name(p)}" for p in node.arguments if not param_help(p)]
        missing += [f"{node.title} {p.opts[0]}" for p in node.options if not param_help(p)]
    return missing


# --- Markdown --------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Text shown as written: Markdown's special characters escaped, one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def _argument_name(param: TyperArgument) -> str:
    name = (param.metavar or param.name or "").upper()
    return name + ("..." if param.nargs == -1 else "")


def _type(param: TyperArgument | TyperOption, context: typer.Context) -> str:
    if isinstance(param, TyperOption) and param.is_flag:
        return "flag"
    display = getattr(param, "display_type", None)
    if callable(display):  # recent typer; older typer has click's ParamType in .type
        label = str(display(context)).strip("<>")
    else:
        label = str(getattr(getattr(param, "type", None), "name", "text"))
    repeated = (isinstance(param, TyperOption) and param.multiple) or param.nargs == -1
    if repeated:
        label = _LIST.sub(r"\1", label)
    label = _TYPE_NAMES.get(label.lower(), label)
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        if low is not None and high is not None:
            label += f", {low} to {high}"
        elif low is not None:
            label += f", at least {low}"
        else:
            label += f", at most {high}"
    if isinstance(param, TyperOption) and param.multiple:
        label += ", repeatable"
    elif param.nargs == -1:
        label += ", any number"
    return label


def _value(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _default(param: TyperArgument | TyperOption) -> str:
    if param.required:
        return "required"
    shown = getattr(param, "show_default", None)
    if isinstance(shown, str) and shown:
        return _escape(shown)
    value = param.default
    if isinstance(param, TyperOption) and param.is_flag:
        if param.secondary_opts:
            return _code(param.opts[0] if value else param.secondary_opts[0])
        return "on" if value else "off"
    if callable(value):
        return "(computed)"
    if value is None or value == [] or value == ():
        return NONE
    if isinstance(value, list | tuple):
        return ", ".join(_code(_value(v)) for v in value)
    return _code(_value(value))


def _help_cell(param: TyperArgument | TyperOption) -> str:
    text = _escape(param_help(param)) or NONE
    envvar = param.envvar
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        text += " (environment: " + ", ".join(_code(n) for n in names) + ")"
    return text


def _usage(node: Node) -> str:
    parts = [node.title, "[OPTIONS]"]
    for param in node.arguments:
        name = (param.metavar or param.name or "").upper()
        shown = name if param.required else f"[{name}]"
        parts.append(shown + ("..." if param.nargs == -1 else ""))
    if isinstance(node.command, TyperGroup):
        parts.append("COMMAND [ARGS]...")
    return " ".join(parts)


def _section(node: Node) -> list[str]:
    command = node.command
    out = [f'<a id="{node.anchor}"></a>', "", f"## `{node.title}`", ""]
    if command.deprecated:
        out += ["*Deprecated.*", ""]
    for paragraph in help_text(command).split("\n\n"):
        if paragraph.strip():
            out += [_escape(paragraph), ""]
    out += ["```text", _usage(node), "```", ""]
    if node.arguments:
        out += ["| Argument | Type | Default | Help |", "|---|---|---|---|"]
        out += [
            f"| {_code(_argument_name(p))} | {_escape(_type(p, node.context))} | {_default(p)} "
            f"| {_help_cell(p)} |"
            for p in node.arguments
        ]
        out.append("")
    if node.options:
        out += ["| Option | Type | Default | Help |", "|---|---|---|---|"]
        for param in node.options:
            names = " / ".join(_code(o) for o in (*param.opts, *param.secondary_opts))
            out.append(f"| {names} | {_escape(_type(param, node.context))} | {_default(param)} "
                       f"| {_help_cell(param)} |")
        out.append("")
    if node.subcommands:
        out += ["| Command | Help |", "|---|---|"]
        out += [
            f"| [`{name}`](#{node.anchor}-{name}) | {_escape(short_help(sub)) or NONE} |"
            for name, sub in node.subcommands
        ]
        out.append("")
    return out


def render_cli_reference(app: typer.Typer, name: str = "renkei") -> str:
    """The whole reference as Markdown: contents, then one section per command."""
    nodes = list(walk(app, name))
    out = [
        "# Command-line reference",
        "",
        f"<!-- Generated from the code by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "This page is generated from the code, so it always matches the installed `renkei`; "
        f"a test fails when it does not. Regenerate it with `{REGENERATE}`. "
        "Every command also takes `--help`.",
        "",
        "このページはコードから生成されるため、常に実際のコマンドと一致します"
        "（ヘルプ文は英語です）。各コマンドは `--help` も受け付けます。",
        "",
        "## Contents",
        "",
    ]
    out += [
        "  " * (len(node.path) - 1) + f"- [`{node.title}`](#{node.anchor})" for node in nodes
    ]
    out.append("")
    for node in nodes:
        out += _section(node)
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    from renkei.cli import app as renkei_app

    sys.stdout.buffer.write(render_cli_reference(renkei_app).encode("utf-8"))
