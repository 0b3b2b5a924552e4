"""Tables, comments, sequences and schemas; what is managed and what is left alone."""

from __future__ import annotations

from dataclasses import replace

from linkgress.model.types import integer
from linkgress.schema import operations as ops
from linkgress.schema.snapshot import ForeignKey, Index, Schema, Sequence
from tests.unit.test_diff_support import col, db, notes_of, ops_of, table

FK = ForeignKey(name="orders_user_id_fkey", columns=("user_id",), ref_schema="public",
                ref_table="users", ref_columns=("id",), on_delete="CASCADE")
IX = Index(name="ix_orders_user_id", columns=("user_id",))
USERS = table("users", col("name"))
ORDERS = table("orders", col("user_id", integer(), nullable=False), foreign_keys=(FK,),
               indexes=(IX,))


def test_empty_to_model_creates_tables_then_foreign_keys_then_indexes() -> None:
    got = ops_of(Schema(), db(ORDERS, USERS))
    assert got == [
        ops.CreateTable(table=replace(ORDERS, foreign_keys=(), indexes=())),
        ops.CreateTable(table=USERS),
        ops.CreateForeignKey(table_name="orders", foreign_key=FK),
        ops.CreateIndex(table_name="orders", index=IX)]


def test_no_change_gives_no_operations_and_no_notes() -> None:
    full = db(USERS, ORDERS)
    assert ops_of(full, full, managed=full) == []
    assert notes_of(full, full, managed=full) == []


def test_unmanaged_table_is_left_alone_with_a_note() -> None:
    spatial = table("spatial_ref_sys", col("srtext"))
    current, target = db(USERS, spatial), db(USERS)
    assert ops_of(current, target) == []
    assert notes_of(current, target) == ["unmanaged table 'public.spatial_ref_sys' left alone"]
    # A record of other tables does not make it managed.
    assert ops_of(current, target, managed=db(USERS)) == []


def test_managed_tables_are_dropped_foreign_keys_first() -> None:
    current = db(USERS, ORDERS)
    got = ops_of(current, db(), managed=current)
    assert got == [ops.DropForeignKey(table_name="orders", foreign_key=FK),
                   ops.DropTable(table=USERS), ops.DropTable(table=ORDERS)]
    assert ops_of(current, Schema(schemas=("public",)), manage_all=True) == got


def test_manage_all_covers_only_the_targets_schemas() -> None:
    elsewhere = table("audit", col("x"), schema="ops")
    current = db(USERS, elsewhere)
    assert ops_of(current, db(USERS), manage_all=True) == []
    assert notes_of(current, db(USERS), manage_all=True) == [
        "unmanaged table 'ops.audit' left alone", "unmanaged schema 'ops' left alone"]


def test_linkgress_own_tables_are_never_dropped() -> None:
    state = table("__linkgress_schema_state", col("snapshot"))
    current = db(USERS, state)
    assert ops_of(current, db(USERS), managed=current, manage_all=True) == []
    assert notes_of(current, db(USERS), managed=current, manage_all=True) == []


def test_table_comment_set_changed_and_cleared_only_when_managed() -> None:
    plain, commented = db(USERS), db(replace(USERS, comment="people"))
    assert ops_of(plain, commented) == [
        ops.SetTableComment(table_name="users", comment="people")]
    assert ops_of(commented, db(replace(USERS, comment="persons"))) == [
        ops.SetTableComment(table_name="users", comment="persons", old_comment="people")]
    assert ops_of(commented, plain) == []
    assert ops_of(commented, plain, managed=commented) == [
        ops.SetTableComment(table_name="users", comment=None, old_comment="people")]


SEQ = Sequence(schema="public", name="order_no", start=100)


def test_sequences_created_altered_and_dropped_when_managed() -> None:
    assert ops_of(db(), db(sequences=(SEQ,))) == [ops.CreateSequence(sequence=SEQ)]
    bigger = replace(SEQ, increment=10, cache=20)
    assert ops_of(db(sequences=(SEQ,)), db(sequences=(bigger,))) == [
        ops.AlterSequence(old=SEQ, new=bigger)]
    assert ops_of(db(sequences=(SEQ,)), db()) == []
    assert notes_of(db(sequences=(SEQ,)), db()) == [
        "unmanaged sequence 'public.order_no' left alone"]
    assert ops_of(db(sequences=(SEQ,)), db(), managed=db(sequences=(SEQ,))) == [
        ops.DropSequence(sequence=SEQ)]


def test_schemas_created_and_recorded_empty_ones_dropped_last() -> None:
    shop = table("items", col("x"), schema="shop")
    assert ops_of(db(), db(shop))[0] == ops.CreateSchema(schema_name="shop")
    current = db(shop)
    got = ops_of(current, db(), managed=current)
    assert got == [ops.DropTable(table=shop), ops.DropSchema(schema_name="shop")]


def test_a_schema_still_holding_unmanaged_objects_is_kept() -> None:
    shop, other = table("items", col("x"), schema="shop"), table("y", schema="shop")
    current = db(shop, other)
    got = ops_of(current, db(), managed=db(shop))
    assert got == [ops.DropTable(table=shop)]
    assert notes_of(current, db(), managed=db(shop)) == [
        "unmanaged table 'shop.y' left alone",
        "schema 'shop' kept: it still holds 1 object(s) linkgress does not manage"]


def test_public_is_never_created_nor_dropped() -> None:
    everything = db(USERS)
    assert ops_of(Schema(), everything) == [ops.CreateTable(table=USERS)]
    got = ops_of(everything, Schema(), managed=everything)
    assert got == [ops.DropTable(table=USERS)]


def test_an_unmanaged_reference_to_a_dropped_table_is_reported() -> None:
    spare = table("spare", col("user_id", integer()), foreign_keys=(
        replace(FK, name="spare_user_id_fkey"),))
    current = db(USERS, spare)
    got = ops_of(current, db(), managed=db(USERS))
    assert got == [ops.DropTable(table=USERS)]
    assert notes_of(current, db(), managed=db(USERS)) == [
        "unmanaged table 'public.spare' left alone",
        "foreign key 'public.spare.spare_user_id_fkey' references table 'public.users', which "
        "is dropped: PostgreSQL will refuse the drop until that foreign key goes"]
