"""``migrate(online=True)``: the plan rewritten into forms that do not stall live traffic (pure).

Each operation that would scan or build over a whole existing table while holding a lock that
blocks writes is split into a short part inside the migration transaction and *steps* that run
after its COMMIT, outside any transaction:

- ``CREATE INDEX``: nothing in the transaction; ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``
  after it;
- a foreign key or a CHECK: ``ADD CONSTRAINT ... NOT VALID``; ``VALIDATE CONSTRAINT`` after;
- ``SET NOT NULL``: ``ADD CONSTRAINT <col>__linkgress_nn CHECK (col IS NOT NULL) NOT VALID``
  (with the column's other changes); after the commit ``VALIDATE`` it, ``SET NOT NULL``
  (PostgreSQL 12+ proves it from the validated check without a scan), drop the check;
- a UNIQUE constraint: nothing in the transaction; ``CREATE UNIQUE INDEX CONCURRENTLY``, then
  ``ADD CONSTRAINT ... UNIQUE USING INDEX`` after it.

Left as they are (inside the transaction): operations on a table the same plan creates (it is
new, empty and invisible to others until the commit), on a partitioned table or a partition
(PostgreSQL refuses ``CONCURRENTLY`` and ``NOT VALID`` there), a unique constraint or unique
index that a foreign key of the same plan references (the key needs it at once), and a
``SET NOT NULL`` that comes with a new identity (PostgreSQL needs the NOT NULL first).

The plan is rewritten after the data pre-checks (:mod:`linkgress.schema.prechecks`) read the
rows, so a step fails after the commit only on rows written since then.

The steps are recorded as pending in the state row (see :mod:`linkgress.schema.online_steps`)
and each one is idempotent, so an interrupted run is completed by the next ``migrate()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from linkgress.errors import MigrationError
from linkgress.schema import operations as ops
from linkgress.schema.ddl import (
    check_clause,
    create_index_sql,
    foreign_key_clause,
    render,
)
from linkgress.schema.quoting import quote_ident, quote_qualified
from linkgress.schema.rawsql import raw_options
from linkgress.schema.snapshot import Index, UniqueConstraint

StepKind = Literal["index", "validate", "not_null", "unique"]
STEP_KINDS: tuple[str, ...] = ("index", "validate", "not_null", "unique")

#: The suffix of the temporary check behind an online ``SET NOT NULL``.
NOT_NULL_CHECK_SUFFIX = "__linkgress_nn"


@dataclass(frozen=True, kw_only=True)
class OnlineStep:
    """One step that runs after the migration transaction committed, outside a transaction.

    ``kind``: ``index`` (build index ``name`` with ``sql``, a ``CREATE INDEX CONCURRENTLY IF
    NOT EXISTS``), ``validate`` (``VALIDATE CONSTRAINT name``), ``not_null`` (validate the
    check ``name``, ``SET NOT NULL`` on ``column``, drop the check) or ``unique`` (build the
    unique index ``name`` with ``sql``, then make it the UNIQUE constraint ``name``).
    """

    kind: StepKind
    schema: str
    table_name: str
    name: str
    column: str | None = None
    sql: str | None = None

    @property
    def table(self) -> str:
        """The table as quoted SQL."""
        return quote_qualified(self.schema, self.table_name)

    def describe(self) -> str:
        """One human line for logs and errors."""
        label = self.table_name if self.schema == "public" else f"{self.schema}.{self.table_name}"
        return {
            "index": f"build index '{self.name}' CONCURRENTLY",
            "validate": f"validate constraint '{self.name}' on '{label}'",
            "not_null": f"set NOT NULL on '{label}.{self.column}' through check '{self.name}'",
            "unique": f"build unique index '{self.name}' CONCURRENTLY and attach it as "
                      f"constraint '{self.name}' on '{label}'",
        }[self.kind]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the state row's ``pending`` entries)."""
        return {"kind": self.kind, "schema": self.schema, "table": self.table_name,
                "name": self.name, "column": self.column, "sql": self.sql}

    @classmethod
    def from_json(cls, value: Any) -> OnlineStep:
        """The step a :meth:`to_json` dict records; :class:`MigrationError` when it is not
        one (a state row edited by hand, or written by a newer linkgress)."""
        try:
            kind = value["kind"]
            if kind not in STEP_KINDS:
                raise ValueError(kind)
            return cls(kind=kind, schema=str(value["schema"]), table_name=str(value["table"]),
                       name=str(value["name"]), column=value.get("column"),
                       sql=value.get("sql"))
        except (KeyError, TypeError, ValueError) as exc:
            raise MigrationError(
                f"the state row records a pending online step linkgress cannot read: "
                f"{value!r}; nothing was changed") from exc


@dataclass(frozen=True, kw_only=True)
class OnlineForm(ops.Operation):
    """The in-transaction part of an operation rewritten for ``online=True``: ``statements``
    run in place of ``original``'s SQL (the rest of it runs after the commit)."""

    type: ClassVar[str] = "online_form"
    original: ops.Operation
    statements: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.original.describe()} (online)"


@render.register
def _(op: OnlineForm) -> list[str]:
    return list(op.statements)


@raw_options.register
def _(op: OnlineForm) -> list[tuple[str, str]]:
    return raw_options(op.original)


@dataclass
class OnlinePlan:
    """A plan in its online form: what runs in the transaction, and the steps after it."""

    in_transaction: list[ops.Operation] = field(default_factory=list)
    after_commit: list[OnlineStep] = field(default_factory=list)


def not_null_check_name(column: str) -> str:
    """The temporary check's name for an online ``SET NOT NULL`` of ``column`` (at most 63
    bytes: a long column name is shortened and made unique with a digest)."""
    name = column + NOT_NULL_CHECK_SUFFIX
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(column.encode()).hexdigest()[:8]
    head = column.encode()[:63 - len(NOT_NULL_CHECK_SUFFIX) - 9].decode(errors="ignore")
    return f"{head}_{digest}{NOT_NULL_CHECK_SUFFIX}"


def unique_index_sql(schema: str, table_name: str, unique: UniqueConstraint) -> str:
    """``CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS`` for a UNIQUE constraint's index."""
    index = Index(name=unique.name, columns=unique.columns, unique=True,
                  nulls_not_distinct=unique.nulls_not_distinct, concurrently=True)
    return create_index_sql(schema, table_name, index, if_not_exists=True)


def _add_not_valid(schema: str, table_name: str, clause: str) -> str:
    return f"ALTER TABLE {quote_qualified(schema, table_name)} ADD {clause} NOT VALID"


def _index(op: ops.CreateIndex) -> OnlineStep:
    sql = create_index_sql(op.schema, op.table_name, replace(op.index, concurrently=True),
                           if_not_exists=True)
    return OnlineStep(kind="index", schema=op.schema, table_name=op.table_name,
                      name=op.index.name, sql=sql)


def _constraint(op: ops.CreateForeignKey | ops.CreateCheckConstraint
                ) -> tuple[OnlineForm, OnlineStep]:
    clause = (foreign_key_clause(op.foreign_key) if isinstance(op, ops.CreateForeignKey)
              else check_clause(op.check))
    form = OnlineForm(original=op, statements=(_add_not_valid(op.schema, op.table_name,
                                                              clause),),
                      hazard_context=op.hazard_context)
    return form, OnlineStep(kind="validate", schema=op.schema, table_name=op.table_name,
                            name=op.constraint_name)


def _not_null(op: ops.AlterColumn) -> tuple[OnlineForm, OnlineStep]:
    relaxed = replace(op, new=replace(op.new, nullable=True))
    name = not_null_check_name(op.new.name)
    check = f"CONSTRAINT {quote_ident(name)} CHECK ({quote_ident(op.new.name)} IS NOT NULL)"
    statements = (*render(relaxed), _add_not_valid(op.schema, op.table_name, check))
    return (OnlineForm(original=op, statements=statements, hazard_context=op.hazard_context),
            OnlineStep(kind="not_null", schema=op.schema, table_name=op.table_name, name=name,
                       column=op.new.name))


def _unique(op: ops.CreateUniqueConstraint) -> OnlineStep:
    return OnlineStep(kind="unique", schema=op.schema, table_name=op.table_name,
                      name=op.unique.name, sql=unique_index_sql(op.schema, op.table_name,
                                                                op.unique))


def _referenced_keys(operations: Sequence[ops.Operation]) -> set[tuple[str, str, frozenset[str]]]:
    return {(op.foreign_key.ref_schema, op.foreign_key.ref_table,
             frozenset(op.foreign_key.ref_columns))
            for op in operations if isinstance(op, ops.CreateForeignKey)}


def _referenced(op: ops.Operation, keys: set[tuple[str, str, frozenset[str]]]) -> bool:
    """Whether ``op`` makes a unique key that a foreign key of the plan references."""
    if isinstance(op, ops.CreateUniqueConstraint):
        return (op.schema, op.table_name, frozenset(op.unique.columns)) in keys
    if isinstance(op, ops.CreateIndex) and op.index.unique and op.index.where is None:
        return (op.schema, op.table_name, frozenset(op.index.columns)) in keys
    return False


def _sets_not_null(op: ops.AlterColumn) -> bool:
    adds_identity = op.new.identity is not None and op.old.identity != op.new.identity
    return op.old.nullable and not op.new.nullable and not adds_identity


def _rewrite(op: ops.Operation) -> tuple[ops.Operation | None, OnlineStep | None]:
    """(what runs in the transaction, the step after it) for one rewritable operation;
    ``(op, None)`` when it has no online form."""
    if type(op) is ops.CreateIndex:
        return None, _index(op)
    if isinstance(op, ops.CreateForeignKey | ops.CreateCheckConstraint):
        return _constraint(op)
    if isinstance(op, ops.AlterColumn) and _sets_not_null(op):
        return _not_null(op)
    if isinstance(op, ops.CreateUniqueConstraint):
        return None, _unique(op)
    return op, None


def online_plan(operations: Sequence[ops.Operation], *,
                offline_tables: Iterable[tuple[str, str]] = ()) -> OnlinePlan:
    """``operations`` (a plan, in order) in their online form. ``offline_tables``: existing
    tables (``(schema, name)``) whose operations stay as they are (partitioned tables and
    partitions). Pure."""
    keep = set(offline_tables) | {op.table.key for op in operations
                                  if isinstance(op, ops.CreateTable)}
    keys = _referenced_keys(operations)
    plan = OnlinePlan()
    for op in operations:
        table = (getattr(op, "schema", None), getattr(op, "table_name", None))
        now, step = (op, None) if table in keep or _referenced(op, keys) else _rewrite(op)
        if now is not None:
            plan.in_transaction.append(now)
        if step is not None:
            plan.after_commit.append(step)
    return plan


def touched_tables(operations: Sequence[ops.Operation]) -> list[tuple[str, str]]:
    """The ``(schema, table)`` of every operation :func:`online_plan` could rewrite."""
    kinds = (ops.CreateIndex, ops.CreateForeignKey, ops.CreateCheckConstraint,
             ops.AlterColumn, ops.CreateUniqueConstraint)
    return list(dict.fromkeys((op.schema, op.table_name) for op in operations
                              if isinstance(op, kinds)))
