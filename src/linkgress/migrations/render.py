"""Operations rendered as migration-file Python source (pure).

``up`` becomes readable :class:`SchemaBuilder` calls, one per operation, each preceded by the
operation's ``describe()`` line; ``down`` is the operations' ``reverse()`` in reverse order. An
operation without a reverse becomes ``raise IrreversibleMigration(...)``, which the user must
resolve. Operations without a builder method (sequence options, table comments) are written as
``schema.execute(...)`` of the SQL the shared renderer produces. A concurrent index
(``concurrently=True``), created or dropped, makes the class ``atomic = False``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import singledispatch
from typing import TypeVar

from linkgress.errors import IrreversibleOperation
from linkgress.model.types import ColumnType
from linkgress.model.typetable import spec_for
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render
from linkgress.schema.indexdef import has_element_options
from linkgress.schema.snapshot import Column, Table

INDENT = " " * 8
MAX_LINE = 100

_SERIAL_BUILDERS = {"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}


def q(value: str) -> str:
    """A Python string literal for ``value`` (double quotes when that needs no escaping)."""
    if '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    return repr(value)


def _names(names: Sequence[str]) -> str:
    return q(names[0]) if len(names) == 1 else "(" + ", ".join(q(n) for n in names) + ")"


@dataclass
class Code:
    """Collects the names a generated file must import."""

    linkgress: set[str] = field(default_factory=lambda: {"Migration", "SchemaBuilder"})
    model_types: set[str] = field(default_factory=set)

    def use(self, name: str) -> str:
        """Import ``name`` from ``linkgress`` (``enum_type`` from ``linkgress.model.types``)."""
        (self.model_types if name == "enum_type" else self.linkgress).add(name)
        return name

    def imports(self) -> str:
        """The import lines."""
        lines = [f"from linkgress import {', '.join(sorted(self.linkgress))}"]
        if self.model_types:
            lines.append(f"from linkgress.model.types import {', '.join(sorted(self.model_types))}")
        return "\n".join(lines)


def type_expr(ct: ColumnType, code: Code) -> str:
    """Python source building ``ct`` (``varchar(20)``, ``array(text())``, ...)."""
    if ct.serial:
        return f"{code.use(_SERIAL_BUILDERS[ct.name])}()"
    if ct.dims:
        element = type_expr(replace(ct, dims=0), code)
        return f"{code.use('array')}({element}{'' if ct.dims == 1 else f', {ct.dims}'})"
    if ct.is_enum and ct.schema is not None:
        schema = "" if ct.schema == "public" else f", {q(ct.schema)}"
        return f"{code.use('enum_type')}({q(ct.name)}{schema})"
    builder = _builder(ct)
    if builder is not None:
        return f"{code.use(builder)}({', '.join(map(str, ct.params))})"
    schema = "" if ct.schema is None else f", schema={q(ct.schema)}"
    return f"{code.use('pg_type')}({q(ct.base_sql if ct.schema is None else ct.name + ct.mods)}"\
        f"{schema})"


def _builder(ct: ColumnType) -> str | None:
    """The type table's builder for a scalar ``ct`` whose parameters it takes, else None."""
    spec = spec_for(ct)
    if ct.dims or ct.serial or spec is None or len(ct.params) not in spec.arity \
            or ct.modifier is not None:
        return None
    return spec.builder


def call(method: str, /, *args: str, **kwargs: str | None) -> str:
    """``await schema.method(args, key=value)``; None-valued keywords are left out."""
    parts = [*args, *(f"{k}={v}" for k, v in kwargs.items() if v is not None)]
    line = f"await schema.{method}({', '.join(parts)})"
    if len(INDENT) + len(line) <= MAX_LINE or not parts:
        return line
    # Pack the arguments greedily onto continuation lines.
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) + 2 <= MAX_LINE - 1:
            lines[-1] += f", {part}"
        else:
            if lines:
                lines[-1] += ","
            lines.append(f"{INDENT}    {part}")
    return f"await schema.{method}(\n" + "\n".join(lines) + ")"


def _schema_kw(schema: str) -> str | None:
    return None if schema == "public" else q(schema)


def _action(action: str) -> str | None:
    return None if action == "NO ACTION" else q(action.lower())


def _column_head(column: Column, code: Code) -> str:
    ct, name = column.type, q(column.name)
    builder = _builder(ct)
    if builder is not None:
        return f"t.{builder}({name}{''.join(f', {p}' for p in ct.params)})"
    if not ct.dims and ct.is_enum and ct.schema is not None:
        schema = "" if ct.schema == "public" else f", schema={q(ct.schema)}"
        return f"t.enum({name}, {q(ct.name)}{schema})"
    return f"t.column({name}, {type_expr(ct, code)})"


def column_chain(column: Column, code: Code) -> str:
    """``t.varchar("name", 20).not_null().default_sql("...")``."""
    head = _column_head(column, code)
    chain = head
    if column.identity is not None:
        chain += ".identity()" if column.identity == "by default" \
            else f".identity({q(column.identity)})"
    elif not column.nullable:
        chain += ".not_null()"
    if column.default is not None and column.identity is None:
        chain += f".default_sql({q(column.default)})"
    if column.comment is not None:
        chain += f".comment({q(column.comment)})"
    return chain


def create_table_call(table: Table, code: Code) -> str:
    """``create_table`` with a lambda listing the columns, keys and constraints."""
    # Foreign keys and indexes are separate operations, exactly as the DDL renderer treats them.
    items = [column_chain(c, code) for c in table.columns]
    if table.primary_key is not None:
        pk = table.primary_key
        items.append(f"t.primary_key({', '.join(q(c) for c in pk.columns)}, name={q(pk.name)})")
    for u in table.uniques:
        nnd = ", nulls_not_distinct=True" if u.nulls_not_distinct else ""
        items.append(f"t.unique({', '.join(q(c) for c in u.columns)}, name={q(u.name)}{nnd})")
    items += [f"t.check({q(c.name)}, {q(c.expression)})" for c in table.checks]
    body = "".join(f"{INDENT}    {item},\n" for item in items)
    tail = "".join(f", {k}={v}" for k, v in (("schema", _schema_kw(table.schema)),
                                              ("comment", table.comment and q(table.comment)))
                   if v is not None)
    return f"await schema.create_table({q(table.name)}, lambda t: [\n{body}{INDENT}]{tail})"


def execute_calls(op: ops.Operation) -> list[str]:
    """Fallback: the operation's SQL as ``schema.execute(...)`` calls."""
    return [call("execute", q(sql)) for sql in render(op)]


@singledispatch
def op_calls(op: ops.Operation, code: Code) -> list[str]:
    """The builder call(s) carrying out ``op``."""
    return execute_calls(op)


_F = TypeVar("_F", bound=Callable[..., list[str]])


def _register(kind: type[ops.Operation]) -> Callable[[_F], _F]:
    def decorate(function: _F) -> _F:
        op_calls.register(kind, function)
        return function
    return decorate


@_register(ops.CreateSchema)
def _(op: ops.CreateSchema, code: Code) -> list[str]:
    return [call("create_schema", q(op.schema_name))]


@_register(ops.DropSchema)
def _(op: ops.DropSchema, code: Code) -> list[str]:
    return [call("drop_schema", q(op.schema_name))]


@_register(ops.CreateEnum)
def _(op: ops.CreateEnum, code: Code) -> list[str]:
    values = "[" + ", ".join(q(v) for v in op.values) + "]"
    return [call("create_enum", q(op.enum_name), values, schema=_schema_kw(op.schema))]


@_register(ops.DropEnum)
def _(op: ops.DropEnum, code: Code) -> list[str]:
    return [call("drop_enum", q(op.enum_name), schema=_schema_kw(op.schema))]


@_register(ops.AddEnumValue)
def _(op: ops.AddEnumValue, code: Code) -> list[str]:
    return [call("add_enum_value", q(op.enum_name), q(op.value),
                 before=op.before and q(op.before), after=op.after and q(op.after),
                 schema=_schema_kw(op.schema))]


@_register(ops.CreateSequence)
def _(op: ops.CreateSequence, code: Code) -> list[str]:
    s = op.sequence
    return [call("create_sequence", q(s.name), schema=_schema_kw(s.schema),
                 data_type=None if s.data_type == "bigint" else q(s.data_type),
                 start=None if s.start == 1 else str(s.start),
                 increment=None if s.increment == 1 else str(s.increment),
                 min_value=None if s.min_value is None else str(s.min_value),
                 max_value=None if s.max_value is None else str(s.max_value),
                 cache=None if s.cache == 1 else str(s.cache),
                 cycle="True" if s.cycle else None)]


@_register(ops.DropSequence)
def _(op: ops.DropSequence, code: Code) -> list[str]:
    return [call("drop_sequence", q(op.sequence.name), schema=_schema_kw(op.sequence.schema))]


def _builder_columns(*columns: Column) -> bool:
    """True when the builder calls can state the columns: generated columns and identity
    options are written as ``schema.execute(...)`` of their SQL instead."""
    return all(c.generated is None and c.identity_start is None and c.identity_increment is None
               for c in columns)


@_register(ops.CreateTable)
def _(op: ops.CreateTable, code: Code) -> list[str]:
    if (not _builder_columns(*op.table.columns) or op.table.partition_by is not None
            or any(u.deferrable for u in op.table.uniques)):
        return execute_calls(op)  # no builder for these, PARTITION BY or a deferrable unique
    return [create_table_call(op.table, code)]


@_register(ops.DropTable)
def _(op: ops.DropTable, code: Code) -> list[str]:
    return [call("drop_table", q(op.table.name), schema=_schema_kw(op.table.schema))]


@_register(ops.RenameTable)
def _(op: ops.RenameTable, code: Code) -> list[str]:
    return [call("rename_table", q(op.table_name), q(op.new_name),
                 schema=_schema_kw(op.schema))]


@_register(ops.AddColumn)
def _(op: ops.AddColumn, code: Code) -> list[str]:
    c = op.column
    if not _builder_columns(c):
        return execute_calls(op)
    return [call("add_column", q(op.table_name), q(c.name), type_expr(c.type, code),
                 nullable=None if c.nullable else "False",
                 default_sql=None if c.default is None or c.identity else q(c.default),
                 identity=c.identity and q(c.identity), comment=c.comment and q(c.comment),
                 schema=_schema_kw(op.schema))]


@_register(ops.DropColumn)
def _(op: ops.DropColumn, code: Code) -> list[str]:
    return [call("drop_column", q(op.table_name), q(op.column.name),
                 schema=_schema_kw(op.schema))]


@_register(ops.RenameColumn)
def _(op: ops.RenameColumn, code: Code) -> list[str]:
    return [call("rename_column", q(op.table_name), q(op.column_name), q(op.new_name),
                 schema=_schema_kw(op.schema))]


@_register(ops.AlterColumn)
def _(op: ops.AlterColumn, code: Code) -> list[str]:
    old, new = op.old, op.new
    if not _builder_columns(old, new):
        return execute_calls(op)
    kwargs: dict[str, str | None] = {}
    if old.type != new.type:
        kwargs["type"] = type_expr(new.type, code)
        using = f"({new.using})" if new.using is not None else op.using
        kwargs["using"] = using and q(using)
    if old.nullable != new.nullable:
        kwargs["nullable"] = str(new.nullable)
    if old.default != new.default:
        if new.default is None:
            kwargs["drop_default"] = "True"
        else:
            kwargs["default_sql"] = q(new.default)
    if old.identity != new.identity:
        kwargs["identity"] = "None" if new.identity is None else q(new.identity)
    if old.comment != new.comment:
        kwargs["comment"] = "None" if new.comment is None else q(new.comment)
    kwargs["schema"] = _schema_kw(op.schema)
    return [call("alter_column", q(op.table_name), q(new.name), **kwargs)]


@_register(ops.AddPrimaryKey)
def _(op: ops.AddPrimaryKey, code: Code) -> list[str]:
    pk = op.primary_key
    return [call("add_primary_key", q(op.table_name), _names(pk.columns), name=q(pk.name),
                 schema=_schema_kw(op.schema))]


@_register(ops.CreateUniqueConstraint)
def _(op: ops.CreateUniqueConstraint, code: Code) -> list[str]:
    u = op.unique
    if u.deferrable:
        return execute_calls(op)
    return [call("add_unique_constraint", q(op.table_name), q(u.name), _names(u.columns),
                 nulls_not_distinct="True" if u.nulls_not_distinct else None,
                 schema=_schema_kw(op.schema))]


@_register(ops.CreateCheckConstraint)
def _(op: ops.CreateCheckConstraint, code: Code) -> list[str]:
    return [call("add_check_constraint", q(op.table_name), q(op.check.name),
                 q(op.check.expression), schema=_schema_kw(op.schema))]


@_register(ops.DropPrimaryKey)
@_register(ops.DropUniqueConstraint)
@_register(ops.DropCheckConstraint)
def _(op: ops.DropPrimaryKey | ops.DropUniqueConstraint | ops.DropCheckConstraint,
      code: Code) -> list[str]:
    return [call("drop_constraint", q(op.table_name), q(op.constraint_name),
                 schema=_schema_kw(op.schema))]


@_register(ops.CreateIndex)
def _(op: ops.CreateIndex, code: Code) -> list[str]:
    ix = op.index
    if ix.concurrently or has_element_options(ix):
        return execute_calls(op)
    return [call("create_index", q(op.table_name), q(ix.name), *(q(c) for c in ix.columns),
                 unique="True" if ix.unique else None,
                 method=None if ix.method == "btree" else q(ix.method),
                 where=ix.where and q(ix.where),
                 nulls_not_distinct="True" if ix.nulls_not_distinct else None,
                 schema=_schema_kw(op.schema))]


@_register(ops.DropIndex)
def _(op: ops.DropIndex, code: Code) -> list[str]:
    if op.index.concurrently:
        return execute_calls(op)
    return [call("drop_index", q(op.table_name), q(op.index.name), schema=_schema_kw(op.schema))]


@_register(ops.CreateForeignKey)
def _(op: ops.CreateForeignKey, code: Code) -> list[str]:
    fk = op.foreign_key
    return [call("create_foreign_key", q(op.table_name), q(fk.name), _names(fk.columns),
                 q(fk.ref_table), _names(fk.ref_columns),
                 ref_schema=None if fk.ref_schema == op.schema else q(fk.ref_schema),
                 on_delete=_action(fk.on_delete), on_update=_action(fk.on_update),
                 deferrable="True" if fk.deferrable else None,
                 initially_deferred="True" if fk.initially_deferred else None,
                 match=None if fk.match == "SIMPLE" else q(fk.match.lower()),
                 schema=_schema_kw(op.schema))]


@_register(ops.DropForeignKey)
def _(op: ops.DropForeignKey, code: Code) -> list[str]:
    return [call("drop_foreign_key", q(op.table_name), q(op.foreign_key.name),
                 schema=_schema_kw(op.schema))]


# -- whole files --------------------------------------------------------------------------------


def _up_block(op: ops.Operation, code: Code) -> list[str]:
    lines = [f"# {op.describe()}"]
    if op.is_destructive:
        lines.append("# DESTRUCTIVE: the data this removes cannot be restored by down()")
    return lines + op_calls(op, code)


def _down_block(op: ops.Operation, code: Code) -> list[str]:
    try:
        reverse = op.reverse()
    except IrreversibleOperation:
        code.use("IrreversibleMigration")
        message = (f"{op.describe()} cannot be reversed automatically: write this step by hand, "
                   "or delete this line if leaving it in place is acceptable")
        return [f"# TODO: resolve before relying on down() — undoing: {op.describe()}",
                f"raise IrreversibleMigration({q(message)})"]
    lines = [f"# {reverse.describe()}"]
    if op.is_destructive:
        lines.append("# NOTE: restores the structure only; the data removed by up() is gone")
    return lines + op_calls(reverse, code)


def _method(name: str, blocks: list[list[str]]) -> str:
    body = "\n\n".join("\n".join(INDENT + line if not line.startswith(INDENT) else line
                                 for line in "\n".join(block).split("\n"))
                       for block in blocks) or f"{INDENT}pass"
    return (f"    async def {name}(self, schema: SchemaBuilder) -> None:\n{body}\n")


NON_ATOMIC = ("    # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction: each statement\n"
              "    # commits on its own; a failure leaves the earlier ones applied.\n"
              "    atomic = False\n\n")


def needs_nonatomic(operations: Sequence[ops.Operation]) -> bool:
    """True when an operation (or its reverse) is a concurrent index build or drop."""
    return any(isinstance(op, ops.CreateIndex | ops.DropIndex) and op.index.concurrently
               for op in operations)


def _file(class_name: str, docstring: str, code: Code, up: str, down: str, *,
          atomic: bool = True) -> str:
    flag = "" if atomic else NON_ATOMIC
    return (f'"""{docstring}"""\n\n{code.imports()}\n\n\n'
            f"class {class_name}(Migration):\n{flag}{up}\n{down}")


def render_migration(class_name: str, operations: Sequence[ops.Operation], *,
                     docstring: str) -> str:
    """The source of a migration file: ``up`` runs ``operations``, ``down`` their reverses."""
    code = Code()
    up = _method("up", [_up_block(op, code) for op in operations])
    down = _method("down", [_down_block(op, code) for op in reversed(operations)])
    return _file(class_name, docstring, code, up, down, atomic=not needs_nonatomic(operations))


def render_empty(class_name: str, *, docstring: str) -> str:
    """The source of a hand-written migration template."""
    code = Code()
    up = ("    async def up(self, schema: SchemaBuilder) -> None:\n"
          f"{INDENT}# e.g. await schema.add_column(\"users\", \"phone_number\", varchar(20))\n"
          f"{INDENT}#      await schema.execute(\"UPDATE users SET ...\")\n"
          f"{INDENT}raise NotImplementedError(\"write the up() step\")\n")
    down = ("    async def down(self, schema: SchemaBuilder) -> None:\n"
            f"{INDENT}# undo up(), e.g. await schema.drop_column(\"users\", \"phone_number\")\n"
            f"{INDENT}raise NotImplementedError(\"write the down() step\")\n")
    return _file(class_name, docstring, code, up, down)
