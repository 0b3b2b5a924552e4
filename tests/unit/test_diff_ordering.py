"""order_operations: the dependency order, independent of the differ."""

from __future__ import annotations

from linkgress.model.types import bigint, enum_type, integer, text
from linkgress.schema import operations as ops
from linkgress.schema.diff import order_operations
from linkgress.schema.diff.ordering import PHASES, phase
from linkgress.schema.domain_ops import DOMAIN_OPERATIONS
from linkgress.schema.partition_ops import PARTITION_OPERATIONS
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    UniqueConstraint,
)

COL = Column(name="c", type=text())
TABLE = Table(schema="app", name="t", columns=(COL,))
FK = ForeignKey(name="t_fk", columns=("c",), ref_schema="app", ref_table="u", ref_columns=("id",))
IX = Index(name="ix_t_c", columns=("c",))
SEQ = Sequence(schema="app", name="s")
ENUM = EnumType(schema="app", name="e", values=("a",))


def _every_kind() -> list[ops.Operation]:
    pk = PrimaryKey(name="t_pkey", columns=("c",))
    uq = UniqueConstraint(name="t_c_key", columns=("c",))
    ck = CheckConstraint(name="t_c_check", expression="(c <> '')")
    return [
        ops.DropSchema(schema_name="old"),
        ops.DropEnum(schema="app", enum_name="old"),
        ops.DropSequence(sequence=SEQ),
        ops.CreateIndex(schema="app", table_name="t", index=IX),
        ops.CreateForeignKey(schema="app", table_name="t", foreign_key=FK),
        ops.CreateCheckConstraint(schema="app", table_name="t", check=ck),
        ops.AddPrimaryKey(schema="app", table_name="t", primary_key=pk),
        ops.AlterColumn(schema="app", table_name="t", old=COL, new=COL),
        ops.AddColumn(schema="app", table_name="t", column=COL),
        ops.RenameColumn(schema="app", table_name="t", column_name="a", new_name="b"),
        ops.CreateTable(table=TABLE),
        ops.CreateSequence(sequence=SEQ),
        ops.AddEnumValue(schema="app", enum_name="e", value="b", after="a"),
        ops.CreateEnum.of(ENUM),
        ops.CreateSchema(schema_name="app"),
        ops.DropColumn(schema="app", table_name="t", column=COL),
        ops.DropTable(table=TABLE),
        ops.DropUniqueConstraint(schema="app", table_name="t", unique=uq),
        ops.DropIndex(schema="app", table_name="t", index=IX),
        ops.DropForeignKey(schema="app", table_name="t", foreign_key=FK),
    ]


def test_every_kind_lands_in_its_phase_in_the_documented_order() -> None:
    ordered = [op.type for op in order_operations(_every_kind())]
    assert ordered == [
        "drop_foreign_key", "drop_index", "drop_unique_constraint", "drop_table", "drop_column",
        "create_schema", "add_enum_value", "create_enum", "create_sequence", "create_table",
        "rename_column", "add_column", "alter_column", "create_check_constraint",
        "add_primary_key", "create_foreign_key", "create_index", "drop_sequence",
        "drop_enum", "drop_schema"]


def test_order_is_stable_within_a_phase_and_the_input_is_not_changed() -> None:
    labels = [ops.AddEnumValue(enum_name="e", value=v, after=p)
              for p, v in [("a", "b"), ("b", "c"), ("c", "d")]]
    given = [ops.DropEnum(enum_name="x"), *labels]
    assert order_operations(given) == [*labels, ops.DropEnum(enum_name="x")]
    assert given[0] == ops.DropEnum(enum_name="x")


def test_every_operation_kind_has_a_phase() -> None:
    phased = {kind for kinds in PHASES for kind in kinds}
    assert set(ops.ALL_OPERATIONS + DOMAIN_OPERATIONS) | set(PARTITION_OPERATIONS) == phased


def test_types_exist_before_columns_use_them_and_are_dropped_after() -> None:
    typed = Column(name="state", type=enum_type("e", schema="app"))
    add = ops.AddColumn(schema="app", table_name="t", column=typed)
    alter = ops.AlterColumn(schema="app", table_name="t", old=typed,
                            new=Column(name="state", type=text()))
    create, drop = ops.CreateEnum.of(ENUM), ops.DropEnum(schema="app", enum_name="old")
    ordered = order_operations([drop, alter, add, create])
    assert ordered.index(create) < ordered.index(add)
    assert ordered.index(alter) < ordered.index(drop)


def test_fk_is_dropped_before_and_recreated_after_a_type_change() -> None:
    old, new = Column(name="c", type=integer()), Column(name="c", type=bigint())
    alter = ops.AlterColumn(schema="app", table_name="t", old=old, new=new)
    drop = ops.DropForeignKey(schema="app", table_name="t", foreign_key=FK)
    create = ops.CreateForeignKey(schema="app", table_name="t", foreign_key=FK)
    assert order_operations([create, alter, drop]) == [drop, alter, create]


def test_a_subclass_of_a_known_kind_shares_its_phase() -> None:
    class Special(ops.DropTable):
        pass

    assert phase(Special(table=TABLE)) == phase(ops.DropTable(table=TABLE))
