"""The Python source pieces ``linkgress db pull`` writes with (pure): safe names for SQL names,
the imports a module needs (aliased where an attribute would shadow them), calls wrapped as a
formatter wraps them, SQL text as string literals. :mod:`linkgress.schema.pull` assembles the
model from them."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from linkgress.migrations.render import Code, q
from linkgress.model.types import ColumnType

__all__ = [
    "BUILTINS",
    "MAX_LINE",
    "PYTHON_TYPES",
    "TAKEN",
    "Names",
    "PulledModule",
    "call_source",
    "class_name",
    "double_quoted",
    "identifier",
    "member_name",
    "python_type",
    "split_top_level",
    "sql_literal",
    "wrapped_import",
]

# format_type() name -> (the module to import from, the annotation). ``datetime`` comes in as
# ``dt``: its names would clash with the type builders ``date()`` and ``time()``.
PYTHON_TYPES: dict[str, tuple[str | None, str]] = {
    "integer": (None, "int"), "bigint": (None, "int"), "smallint": (None, "int"),
    "numeric": ("decimal", "Decimal"), "real": (None, "float"),
    "double precision": (None, "float"), "money": (None, "str"), "text": (None, "str"),
    "character varying": (None, "str"), "character": (None, "str"), "citext": (None, "str"),
    "boolean": (None, "bool"), "date": ("dt", "dt.date"),
    "time without time zone": ("dt", "dt.time"),
    "timestamp without time zone": ("dt", "dt.datetime"),
    "timestamp with time zone": ("dt", "dt.datetime"), "interval": ("dt", "dt.timedelta"),
    "uuid": ("uuid", "UUID"), "json": ("typing", "Any"),
    "jsonb": ("typing", "Any"), "bytea": (None, "bytes"),
}

# Attributes an entity or context class already has: a column or table of that name is
# mapped under another attribute name.
TAKEN = frozenset({"model", "query_scope", "client", "table", "table_descriptors",
                    "transaction", "dispose", "get_schema_manager", "setup_model",
                    "entity_meta", "on_migration_complete"})


BUILTINS = ("int", "str", "bool", "float", "bytes", "list")


class Names(Code):
    """The names the module imports, aliased (``text as text_``) where an entity attribute
    of the same name would shadow them inside a class body."""

    def __init__(self, clashes: set[str]) -> None:
        super().__init__(linkgress={"DbContext", "Entity", "column"})
        self.clashes = clashes
        self.aliases: dict[str, str] = {}

    def alias(self, name: str) -> str:
        """The name to write for the imported ``name``."""
        if name not in self.clashes:
            return name
        alias = name + "_"
        while alias in self.clashes:
            alias += "_"
        self.aliases[name] = alias
        return alias

    def use(self, name: str) -> str:
        """Import ``name`` from linkgress; the name to write for it."""
        super().use(name)
        return self.alias(name)

    def spelled(self, name: str) -> str:
        """``name`` in an import list (``name as alias`` when aliased)."""
        alias = self.aliases.get(name)
        return name if alias is None else f"{name} as {alias}"


@dataclass
class PulledModule:
    """What the generated module needs: imports, enum classes, entity names."""

    code: Names = field(default_factory=lambda: Names(set()))
    stdlib: dict[str, set[str]] = field(default_factory=dict)
    enum_classes: dict[tuple[str, str], str] = field(default_factory=dict)
    entity_classes: dict[tuple[str, str], str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    context_attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    domains: dict[tuple[str, str], ColumnType] = field(default_factory=dict)

    def base(self, ctype: ColumnType) -> ColumnType:
        """``ctype`` without array dimensions, a domain resolved to its base type."""
        element = replace(ctype, dims=0)
        if element.schema is not None and not element.is_enum:
            return self.domains.get((element.schema, element.name), element)
        return element

    def python(self, module: str | None, name: str) -> str:
        """Import ``name`` (``dt.date``: the module ``dt``) from the standard library module
        ``module`` (None: a builtin); the expression to write for it."""
        if module is None:
            return name
        head, dot, rest = name.partition(".")
        self.stdlib.setdefault(module, set()).add(head)
        return self.code.alias(head) + dot + rest

    def imports(self) -> str:
        """The module's import block."""
        lines = ["from __future__ import annotations", ""]
        plain = {"enum": "enum", "dt": "datetime"}
        for module in sorted(m for m in self.stdlib if m in plain):
            alias = self.code.alias(module)
            lines.append(f"import {plain[module]}" + ("" if alias == plain[module]
                                                      else f" as {alias}"))
        lines += [f"from {m} import {', '.join(sorted(self.code.spelled(n) for n in names))}"
                  for m, names in sorted(self.stdlib.items()) if m not in plain]
        if len(lines) > 2:
            lines.append("")
        names = [self.code.spelled(n) for n in sorted(self.code.linkgress)]
        lines.append(wrapped_import("from linkgress import (", names, ")"))
        if self.code.model_types:
            types = ", ".join(self.code.spelled(n) for n in sorted(self.code.model_types))
            lines.append(f"from linkgress.model.types import {types}")
        return "\n".join(lines)


MAX_LINE = 100


def call_source(head: str, args: list[str], indent: str) -> str:
    """``head(args)`` at ``indent`` as a formatter writes it: one line when it fits, else the
    arguments on one line of their own, else one per line with a trailing comma."""
    line = f"{indent}{head}({', '.join(args)})"
    if len(line) <= MAX_LINE:
        return line
    inner = f"{indent}    {', '.join(args)}"
    if len(inner) <= MAX_LINE:
        return f"{indent}{head}(\n{inner}\n{indent})"
    body = "".join(f"{indent}    {a},\n" for a in args)
    return f"{indent}{head}(\n{body}{indent})"


def wrapped_import(head: str, names: list[str], tail: str) -> str:
    line = head.rstrip("(") + " " + ", ".join(names) if len(names) < 4 else ""
    if line and len(line) <= 100:
        return line
    return head + "\n" + "".join(f"    {n},\n" for n in names) + tail


def identifier(name: str, taken: Iterable[str] = ()) -> str:
    """A Python identifier for the SQL name ``name`` (non-word characters as ``_``; no leading
    underscore, which would make an entity attribute private), distinct from ``taken``."""
    ident = re.sub(r"\W", "_", name.encode("ascii", "replace").decode().replace("?", "_"))
    ident = ident.lstrip("_") or "field"
    if ident[0].isdigit():
        ident = "n" + ident
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        ident += "_"
    used, candidate, n = set(taken), ident, 2
    while candidate in used:
        candidate, n = f"{ident}_{n}", n + 1
    return candidate


def class_name(name: str, taken: Iterable[str]) -> str:
    words = re.split(r"[\W_]+", name.encode("ascii", "replace").decode().replace("?", "_"))
    pascal = "".join(w[:1].upper() + w[1:] for w in words if w)
    return identifier(pascal or "Table", taken)


def member_name(label: str, taken: set[str]) -> str:
    member = re.sub(r"\W+", "_", label.encode("ascii", "replace").decode()).strip("_").upper()
    member = identifier(f"N{member}" if member[:1].isdigit() else member or "VALUE", taken)
    taken.add(member)
    return member


def python_type(element: ColumnType) -> tuple[str | None, str]:
    return PYTHON_TYPES.get(element.name, (None, "str")) if element.schema is None \
        else (None, "str")


def split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses and quotes."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    return [*parts, current.strip()] if current.strip() else parts


def sql_literal(sql: str, indent: str) -> str:
    """``sql`` as adjacent string literals, a line (or a piece of a long one) each."""
    pieces = []
    for line in sql.splitlines(keepends=True):
        while len(line) > 80:
            cut = line.rfind(" ", 20, 80)
            cut = 80 if cut < 0 else cut + 1
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    if len(pieces) <= 1:
        return q(sql)
    return "(\n" + "".join(f"{indent}    {double_quoted(p)}\n" for p in pieces) + f"{indent})"


def double_quoted(text: str) -> str:
    """A double-quoted Python literal for ``text`` (as a formatter prefers it)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    literal = f'"{body}"'
    return literal if body.isprintable() else q(text)
