"""Hazards: one rule per operation kind, derived from the operation and the server version."""

from __future__ import annotations

from dataclasses import replace

import pytest

from linkgress.model.types import bigint, integer, numeric, serial, text, varchar
from linkgress.schema import domain_ops, partition_ops
from linkgress.schema import operations as ops
from linkgress.schema.hazards import (
    HAZARDS,
    RULES,
    HazardContext,
    hazard_lines,
    hazards_of,
    in_context,
    is_volatile_default,
    unallowed,
)
from linkgress.schema.online import OnlineForm
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    Domain,
    ForeignKey,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    TablePartition,
    UniqueConstraint,
    View,
)

PHONE = Column(name="phone", type=varchar(20))
NAME = Column(name="name", type=varchar(50), nullable=False)
USERS = Table(schema="public", name="users",
              columns=(Column(name="id", type=integer(), nullable=False), NAME),
              primary_key=PrimaryKey(name="users_pkey", columns=("id",)))
SEQ = Sequence(schema="public", name="s")
FK = ForeignKey(name="orders_user_fk", columns=("user_id",), ref_schema="public",
                ref_table="users", ref_columns=("id",))
CHECK = CheckConstraint(name="name_check", expression="length(name) > 0")
UNIQUE = UniqueConstraint(name="users_name_key", columns=("name",))
IX = Index(name="ix_users_name", columns=("name",))
PART = TablePartition(name="events_p0", bound="FOR VALUES WITH (modulus 2, remainder 0)")
DOMAIN = Domain(schema="public", name="posint", base_type=integer())
VIEW = View(schema="public", name="active_users", definition="SELECT id FROM users")
PK = PrimaryKey(name="users_pkey", columns=("id",))


def alter(old: Column, new: Column, *, lossy: bool = False) -> ops.AlterColumn:
    return ops.AlterColumn(table_name="users", old=old, new=new, lossy=lossy)


RB = ("blocks_reads", "blocks_writes")

# One example of every operation kind, with its hazards on the newest PostgreSQL.
EXAMPLES: list[tuple[ops.Operation, tuple[str, ...]]] = [
    (ops.CreateSchema(schema_name="app"), ()),
    (ops.DropSchema(schema_name="app"), ("destructive",)),
    (ops.CreateEnum(enum_name="mood", values=("a",)), ()),
    (ops.DropEnum(enum_name="mood"), ("destructive",)),
    (ops.AddEnumValue(enum_name="mood", value="b"), ()),
    (ops.RecreateEnum(enum_name="mood", old_values=("a", "b"), values=("a",),
                      columns=(ops.EnumColumnUse(schema="public", table_name="users",
                                                 column_name="mood"),)),
     ("rewrites_table", *RB, "data_dependent", "destructive")),
    (ops.CreateSequence(sequence=SEQ), ()),
    (ops.DropSequence(sequence=SEQ), ("destructive",)),
    (ops.AlterSequence(old=SEQ, new=SEQ), ()),
    (ops.CreateTable(table=USERS), ()),
    (ops.DropTable(table=USERS), (*RB, "destructive")),
    (ops.RenameTable(table_name="users", new_name="people"), RB),
    (ops.SetTableComment(table_name="users", comment="x"), ()),
    (ops.AddColumn(table_name="users", column=PHONE), RB),
    (ops.DropColumn(table_name="users", column=PHONE), (*RB, "destructive")),
    (alter(PHONE, Column(name="phone", type=varchar(40))), RB),
    (ops.RenameColumn(table_name="users", column_name="phone", new_name="tel"), RB),
    (ops.AddPrimaryKey(table_name="users", primary_key=PK),
     ("scans_table", *RB, "data_dependent")),
    (ops.DropPrimaryKey(table_name="users", primary_key=PK), (*RB, "destructive")),
    (ops.CreateUniqueConstraint(table_name="users", unique=UNIQUE),
     ("scans_table", *RB, "data_dependent")),
    (ops.DropUniqueConstraint(table_name="users", unique=UNIQUE), RB),
    (ops.CreateCheckConstraint(table_name="users", check=CHECK),
     ("scans_table", *RB, "data_dependent")),
    (ops.DropCheckConstraint(table_name="users", check=CHECK), RB),
    (ops.CreateIndex(table_name="users", index=IX), ("scans_table", "blocks_writes")),
    (ops.DropIndex(table_name="users", index=IX), RB),
    (ops.CreateForeignKey(table_name="orders", foreign_key=FK),
     ("scans_table", "blocks_writes", "data_dependent")),
    (ops.DropForeignKey(table_name="orders", foreign_key=FK), ("blocks_writes",)),
    (ops.CreateView(view=VIEW), ()),
    (ops.CreateView(view=VIEW, replace=True), RB),
    (ops.CreateView(view=replace(VIEW, materialized=True)), ("scans_table",)),
    (ops.DropView(view=VIEW), RB),
    (domain_ops.CreateDomain(domain=DOMAIN), ()),
    (domain_ops.AlterDomain(old=DOMAIN, new=replace(DOMAIN, check="VALUE > 0")),
     ("scans_table", "blocks_writes", "data_dependent")),
    (domain_ops.AlterDomain(old=replace(DOMAIN, check="VALUE > 0"), new=DOMAIN), ()),
    (domain_ops.DropDomain(domain=DOMAIN), ("destructive",)),
    (OnlineForm(original=ops.CreateCheckConstraint(table_name="users", check=CHECK),
                statements=("ALTER TABLE users ADD CONSTRAINT c CHECK (x) NOT VALID",)), RB),
    (OnlineForm(original=ops.CreateIndex(table_name="users", index=IX), statements=()), ()),
    (partition_ops.CreatePartition(table_name="events", partition=PART), ("scans_table",)),
    (partition_ops.DropPartition(table_name="events", partition=PART), (*RB, "destructive")),
    (partition_ops.ChangePartitionBound(table_name="events", partition=PART, old_bound="x"),
     ("scans_table", *RB, "data_dependent")),
]


def test_every_operation_kind_has_a_rule_and_an_example() -> None:
    def subclasses(cls: type[ops.Operation]) -> set[type[ops.Operation]]:
        # linkgress's own kinds (a test below defines one of its own)
        out = {sub for sub in cls.__subclasses__() if sub.__module__.startswith("linkgress.")}
        for sub in list(out):
            out |= subclasses(sub)
        return out

    kinds = {cls.type for cls in subclasses(ops.Operation)} | {
        cls.type for cls in ops.ALL_OPERATIONS}
    assert kinds - set(RULES) == set(), "operation kinds without a hazard rule"
    assert {op.type for op, _ in EXAMPLES} == kinds


@pytest.mark.parametrize(("op", "expected"), EXAMPLES, ids=lambda v: getattr(v, "type", ""))
def test_hazards_of_each_kind(op: ops.Operation, expected: tuple[str, ...]) -> None:
    assert op.hazards == expected
    assert set(op.hazards) <= set(HAZARDS)
    assert ("destructive" in op.hazards) == op.is_destructive


def test_a_kind_without_a_rule_is_an_error() -> None:
    class Vacuum(ops.Operation):
        type = "vacuum"

    with pytest.raises(KeyError, match="no hazard rule for operation type 'vacuum'"):
        _ = Vacuum().hazards


def add(column: Column) -> ops.AddColumn:
    return ops.AddColumn(table_name="users", column=column)


def test_add_column_rewrites_only_for_volatile_defaults_on_11_and_later() -> None:
    constant = add(Column(name="n", type=integer(), nullable=False, default="0"))
    volatile = add(Column(name="r", type=text(), default="(random())::text"))
    uuid = add(Column(name="u", type=text(), default="gen_random_uuid()"))
    stamp = add(Column(name="t", type=text(), default="now()"))
    assert constant.hazards == RB
    assert stamp.hazards == RB
    assert volatile.hazards == ("rewrites_table", *RB)
    assert uuid.hazards == ("rewrites_table", *RB)
    assert hazards_of(constant, HazardContext(server_version=10)) == ("rewrites_table", *RB)
    assert add(Column(name="s", type=serial())).hazards == ("rewrites_table", *RB)
    assert add(Column(name="i", type=bigint(), identity="always",
                      nullable=False)).hazards == ("rewrites_table", *RB)
    assert add(Column(name="m", type=text(), nullable=False)).hazards == (*RB, "data_dependent")


def test_volatile_defaults() -> None:
    assert is_volatile_default("nextval('s'::regclass)")
    assert is_volatile_default("public.uuid_generate_v4()")
    assert not is_volatile_default("CURRENT_TIMESTAMP")
    assert not is_volatile_default(None)


@pytest.mark.parametrize(("old", "new", "lossy", "expected"), [
    (varchar(50), varchar(100), False, RB),  # widening: no rewrite
    (varchar(50), varchar(), False, RB),  # removing the limit
    (varchar(50), text(), False, RB),
    (text(), varchar(), False, RB),
    (numeric(10, 2), numeric(12, 2), False, RB),  # more precision, same scale
    (numeric(10, 2), numeric(), False, RB),
    (numeric(10, 2), numeric(12, 3), False, ("rewrites_table", *RB)),  # scale changes
    (integer(), bigint(), False, ("rewrites_table", *RB)),
    (varchar(50), varchar(10), True, ("rewrites_table", *RB, "data_dependent", "destructive")),
    (text(), integer(), True, ("rewrites_table", *RB, "data_dependent", "destructive")),
])
def test_type_changes(old: object, new: object, lossy: bool, expected: tuple[str, ...]) -> None:
    op = alter(Column(name="c", type=old), Column(name="c", type=new), lossy=lossy)  # type: ignore[arg-type]
    assert op.hazards == expected


def test_nullability_default_and_comment() -> None:
    assert alter(PHONE, Column(name="phone", type=varchar(20), nullable=False)).hazards == (
        "scans_table", *RB, "data_dependent")
    assert alter(NAME, Column(name="name", type=varchar(50))).hazards == RB
    assert alter(PHONE, Column(name="phone", type=varchar(20), default="'x'")).hazards == RB
    assert alter(PHONE, Column(name="phone", type=varchar(20), comment="c")).hazards == ()


def test_concurrent_and_unique_indexes() -> None:
    concurrent = Index(name="ix", columns=("name",), concurrently=True)
    unique = Index(name="ux", columns=("name",), unique=True)
    assert ops.CreateIndex(table_name="users", index=concurrent).hazards == ("scans_table",)
    assert ops.CreateIndex(table_name="users", index=unique).hazards == (
        "scans_table", "blocks_writes", "data_dependent")


def test_operations_on_a_table_the_plan_creates_have_no_lock_or_data_hazard() -> None:
    orders = Table(schema="public", name="orders",
                   columns=(Column(name="user_id", type=integer()),))
    plan = in_context([ops.CreateTable(table=orders),
                       ops.CreateIndex(table_name="orders", index=Index(
                           name="ix_orders_user", columns=("user_id",))),
                       ops.CreateForeignKey(table_name="orders", foreign_key=FK),
                       ops.AddColumn(table_name="users", column=PHONE)], 15)
    assert [op.hazards for op in plan] == [(), (), ("blocks_writes",), RB]
    assert plan[0].hazard_context.server_version == 15
    assert plan == [ops.CreateTable(table=orders), *plan[1:]]  # not part of equality


def test_unallowed_and_lines() -> None:
    plan: list[ops.Operation] = [ops.CreateTable(table=USERS),
                                 ops.DropColumn(table_name="users", column=PHONE)]
    assert unallowed(plan, {"blocks_reads", "blocks_writes"}) == [(plan[1], ("destructive",))]
    assert unallowed(plan, set(HAZARDS)) == []
    assert hazard_lines(plan) == [
        "Hazards:", "  2. Drop column 'users.phone': blocks_reads, blocks_writes, destructive"]
    assert hazard_lines(plan[:1]) == []
