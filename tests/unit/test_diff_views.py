"""Views: model building, the differ, ordering, and the views in the way of a change (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from linkgress import DbContext, DbModelConfig, Entity, ModelError, PgClient, column, integer
from linkgress.model.types import numeric
from linkgress.model.views import build_views
from linkgress.schema import operations as ops
from linkgress.schema.diff import DiffResult
from linkgress.schema.diff.views import drop_order, is_rebuild, replaceable
from linkgress.schema.existing import ExistingObjects
from linkgress.schema.introspect.others import other_notes
from linkgress.schema.introspect.views import as_printed, parse_view
from linkgress.schema.plan import plan_create, plan_drop
from linkgress.schema.snapshot import Column, Schema, View, from_json, to_json
from linkgress.schema.view_dependents import triggers, views_around
from tests.unit.test_diff_support import col, db, notes_of, ops_of, table

COLS = (("id", "integer"), ("name", "text"))
CHEAP = View(schema="public", name="cheap", definition="SELECT 1", columns=COLS)
TOTALS = View(schema="public", name="totals", definition="SELECT 2", materialized=True)
ITEM = table("item", col("name"))


def views(*items: View, **kw: Any) -> Schema:
    return replace(db(ITEM, **kw), views=items)


# -- building -----------------------------------------------------------------------------------


def test_views_are_tidied_qualified_and_ordered_by_depends_on() -> None:
    built = build_views([
        View(schema="", name="names", definition="SELECT name FROM cheap ;\n",
             depends_on=("cheap",)),
        View(schema="", name="cheap", definition="  SELECT 1;"),
        View(schema="rep", name="other", definition="SELECT 2", depends_on=("public.cheap",)),
    ], "public", [])
    assert [v.qualified_name for v in built] == ["public.cheap", "public.names", "rep.other"]
    assert built[1].definition == "SELECT name FROM cheap"
    assert built[1].depends_on == ("public.cheap",)


@pytest.mark.parametrize(("items", "message"), [
    ([View(schema="", name="a", definition="SELECT 1", depends_on=("b",)),
      View(schema="", name="b", definition="SELECT 1", depends_on=("a",))],
     "views depend on each other in a cycle: public.a -> public.b -> public.a"),
    ([View(schema="", name="a", definition="SELECT 1", depends_on=("nope",))],
     "depends_on names 'public.nope', which is not a view of the model"),
    ([View(schema="", name="a", definition=" ; ")], "the view's query is empty"),
    ([View(schema="", name="a", definition="SELECT 1"),
      View(schema="", name="a", definition="SELECT 2")], "name 'a' is already used"),
    ([View(schema="", name="item", definition="SELECT 1")], "name 'item' is already used"),
    ([View(schema="", name="x" * 64, definition="SELECT 1")], "PostgreSQL allows at most 63"),
    ([View(schema="", name="a", definition="SELECT '\x00'")], "contains a NUL byte"),
])
def test_bad_views_are_model_errors(items: list[View], message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_views(items, "public", [("public", "item")])


class Item(Entity):
    id: int = column(integer(), primary_key=True)


class Shop(DbContext):
    items = DbContext.table(Item)

    def setup_model(self, model: DbModelConfig) -> None:
        model.has_default_schema("shop")
        model.has_view("cheap", "SELECT id FROM shop.item", materialized=True)
        model.has_view("ids", "SELECT id FROM cheap", schema="rep", depends_on=["shop.cheap"])


def test_has_view_reaches_the_model_and_its_schemas() -> None:
    model = Shop(PgClient()).model
    assert [(v.qualified_name, v.materialized) for v in model.views] == [
        ("shop.cheap", True), ("rep.ids", False)]
    assert model.schemas == ("shop", "rep")
    assert model.default_schema == "shop"


# -- the differ ---------------------------------------------------------------------------------


def test_new_view_is_created_and_an_equal_one_gives_nothing() -> None:
    assert ops_of(db(ITEM), views(CHEAP)) == [ops.CreateView(view=CHEAP)]
    assert ops_of(views(CHEAP), views(CHEAP), managed=views(CHEAP)) == []
    # columns and depends_on are not compared
    assert ops_of(views(replace(CHEAP, columns=())), views(CHEAP)) == []


def test_changed_view_is_replaced_in_place_when_its_columns_allow() -> None:
    wider = replace(CHEAP, definition="SELECT 3", columns=(*COLS, ("price", "numeric")))
    assert ops_of(views(CHEAP), views(wider)) == [ops.CreateView(view=wider, replace=True)]


@pytest.mark.parametrize("new", [
    replace(CHEAP, definition="SELECT 3", columns=(("id", "bigint"), ("name", "text"))),
    replace(CHEAP, definition="SELECT 3", columns=(("name", "text"),)),
    replace(CHEAP, definition="SELECT 3", columns=()),  # PostgreSQL could not print it yet
    replace(CHEAP, materialized=True),
])
def test_otherwise_it_is_dropped_and_created(new: View) -> None:
    assert ops_of(views(CHEAP), views(new)) == [ops.DropView(view=CHEAP),
                                                ops.CreateView(view=new)]


def test_materialized_views_are_never_replaced_in_place() -> None:
    old = replace(TOTALS, columns=COLS)
    new = replace(old, definition="SELECT 3")
    assert not replaceable(old, new)
    assert ops_of(views(old), views(new)) == [ops.DropView(view=old), ops.CreateView(view=new)]
    assert notes_of(views(old), views(new)) == [
        "materialized view 'public.totals' is dropped and created again: its rows are "
        "computed anew by the migration (as REFRESH MATERIALIZED VIEW would)"]


def test_removed_view_is_dropped_only_when_managed() -> None:
    current = views(CHEAP, TOTALS)
    assert ops_of(current, views(), managed=views(TOTALS)) == [ops.DropView(view=TOTALS)]
    assert notes_of(current, views(), managed=views(TOTALS)) == [
        "unmanaged view 'public.cheap' left alone"]
    assert ops_of(current, views(), manage_all=True) == [ops.DropView(view=CHEAP),
                                                         ops.DropView(view=TOTALS)]


def test_views_are_dropped_first_readers_before_read_and_created_last() -> None:
    base = replace(CHEAP, name="base")
    reader = replace(CHEAP, name="reader", depends_on=("public.base",))
    current = views(base, reader)
    got = ops_of(current, replace(views(), tables=(table("item", col("name", numeric(4, 2))),)),
                 managed=current)
    assert [op.type for op in got] == ["drop_view", "drop_view", "alter_column"]
    assert [op.view.name for op in got[:2]] == ["reader", "base"]  # type: ignore[attr-defined]
    created = ops_of(db(), views(base, reader))
    assert [op.type for op in created][-2:] == ["create_view", "create_view"]


def test_drop_order_puts_readers_first() -> None:
    a = replace(CHEAP, name="a")
    b = replace(CHEAP, name="b", depends_on=("public.a",))
    c = replace(CHEAP, name="c", depends_on=("public.b", "public.a"))
    assert [v.name for v in drop_order([a, b, c])] == ["c", "b", "a"]
    assert [v.name for v in drop_order([c, a])] == ["c", "a"]


# -- create-all / drop-all ----------------------------------------------------------------------


def test_plan_create_and_drop_handle_views() -> None:
    target = views(CHEAP, TOTALS)
    have = ExistingObjects(schemas=frozenset({"public"}), enums=frozenset(),
                           sequences=frozenset(), tables=frozenset({("public", "item")}),
                           indexes=frozenset(), constraints=frozenset(),
                           views=frozenset({("public", "cheap")}))
    assert plan_create(target, have) == [ops.CreateView(view=TOTALS)]
    dropped = plan_drop(target, have, cascade=True)
    assert dropped[0] == ops.DropView(view=CHEAP, cascade=True)


# -- views in the way of a change ---------------------------------------------------------------

PRICE = Column(name="price", type=numeric(4, 2))
RETYPE = ops.AlterColumn(table_name="item", old=PRICE, new=replace(PRICE, type=numeric(6, 2)))


def test_triggers_are_retyped_and_dropped_columns_and_dropped_relations() -> None:
    found = triggers([
        RETYPE,
        ops.AlterColumn(table_name="item", old=PRICE, new=replace(PRICE, nullable=False)),
        ops.DropColumn(schema="s", table_name="t", column=PRICE),
        ops.DropTable(table=ITEM),
        ops.DropView(view=CHEAP),
        ops.CreateView(view=TOTALS),
        ops.RecreateEnum(enum_name="mood", old_values=("a", "b"), values=("a",), columns=(
            ops.EnumColumnUse(schema="public", table_name="item", column_name="m"),)),
    ])
    assert [(t.relation, t.column) for t in found] == [
        ('"public"."item"', "price"), ('"s"."t"', "price"), ('"public"."item"', None),
        ('"public"."cheap"', None), ('"public"."item"', "m")]
    assert found[-1].reason == ("the type of column 'public.item.m' (enum 'mood' is "
                                "recreated)")
    assert found[0].reason == "the type of column 'public.item.price', which changes"


def test_a_managed_dependent_is_dropped_and_created_around_the_change() -> None:
    declared = replace(CHEAP, definition="SELECT 1 -- the model's")
    result = views_around(DiffResult(operations=[RETYPE]), [(CHEAP, ("reason",))],
                          views(declared))
    assert result.operations == [ops.DropView(view=CHEAP), RETYPE,
                                 ops.CreateView(view=declared)]
    assert result.blocked == []


def test_an_in_place_replacement_becomes_a_plain_creation() -> None:
    planned = DiffResult(operations=[RETYPE, ops.CreateView(view=CHEAP, replace=True)])
    result = views_around(planned, [(CHEAP, ("r",))], views(CHEAP))
    assert result.operations == [ops.DropView(view=CHEAP), RETYPE, ops.CreateView(view=CHEAP)]


def test_an_unmanaged_dependent_blocks_with_a_note() -> None:
    other = replace(CHEAP, schema="rep", name="report")
    result = views_around(DiffResult(operations=[RETYPE], notes=["earlier"]),
                          [(other, ("the type of column 'public.item.price', which changes",))],
                          views())
    assert result.operations == [RETYPE]
    assert result.notes[0] == "earlier"
    assert result.blocked == result.notes[1:]
    assert result.blocked[0].startswith(
        "unmanaged view 'rep.report' reads the type of column 'public.item.price', which "
        "changes: PostgreSQL refuses the change while it exists")


def test_a_rebuilt_view_is_one_dropped_and_created_by_the_plan() -> None:
    plan: list[ops.Operation] = [ops.DropView(view=CHEAP), RETYPE, ops.CreateView(view=CHEAP),
                                 ops.CreateView(view=TOTALS)]
    assert [is_rebuild(op, plan) for op in plan] == [True, False, True, False]


def test_a_view_the_plan_drops_anyway_needs_nothing_more() -> None:
    planned = DiffResult(operations=[ops.DropView(view=CHEAP), RETYPE])
    assert views_around(planned, [(CHEAP, ("r",))], views()) is planned


# -- catalog rows and the recorded state --------------------------------------------------------


def test_as_printed_records_the_databases_printing() -> None:
    printed = replace(CHEAP, definition="SELECT 1 AS one", columns=(("one", "integer"),))
    recorded = as_printed(views(CHEAP, TOTALS), [printed, replace(TOTALS, materialized=False)])
    assert recorded.views[0].definition == "SELECT 1 AS one"
    assert recorded.views[0].columns == (("one", "integer"),)
    assert recorded.views[1] == TOTALS  # another kind in the database: kept as declared


def test_other_objects_become_notes() -> None:
    got = other_notes([
        {"kind": "function", "schema": "public", "name": "f(integer)", "parent": None},
        {"kind": "trigger", "schema": "app", "name": "audit", "parent": "orders"},
        {"kind": "trigger", "schema": "app", "name": "hidden", "parent": "legacy_x"},
        {"kind": "rule", "schema": "public", "name": "r", "parent": "__linkgress_migrations"},
    ], exclude=["legacy_*"])
    assert got == ["unmanaged function 'public.f(integer)' left alone",
                   "unmanaged trigger 'audit' on table 'app.orders' left alone"]


def test_parse_view_reads_a_catalog_row() -> None:
    row = {"schema": "public", "name": "cheap", "materialized": False,
           "definition": " SELECT item.id\n   FROM item;", "column_names": ["id"],
           "column_types": ["integer"], "depends_on": ["public.b", "public.a"]}
    assert parse_view(row) == View(schema="public", name="cheap",
                                   definition="SELECT item.id\n   FROM item")
    assert parse_view(row).depends_on == ("public.a", "public.b")
    assert parse_view(row).columns == (("id", "integer"),)


def test_views_survive_the_json_round_trip() -> None:
    schema = views(replace(CHEAP, depends_on=("public.x",)), TOTALS)
    back = from_json(to_json(schema))
    assert back == schema
    assert back.views[0].columns == COLS and back.views[0].depends_on == ("public.x",)
