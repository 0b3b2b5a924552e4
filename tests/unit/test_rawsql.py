"""Which raw SQL each operation inserts verbatim, and the message naming a stacked statement."""

from __future__ import annotations

import pytest

from linkgress.model.types import integer, text
from linkgress.schema import operations as ops
from linkgress.schema.ddl import render
from linkgress.schema.introspect.mirror import Existing, blame_statements
from linkgress.schema.rawsql import raw_options, stacked_statement_hint
from linkgress.schema.snapshot import CheckConstraint, Column, Index, Schema, Table

ID = Column(name="id", type=integer(), nullable=False, identity="by default")
V = Column(name="v", type=integer(), default="RAW_DEFAULT")
CK = CheckConstraint(name="ck", expression="RAW_CHECK")
IX = Index(name="ix", columns=("(RAW_EXPR)", "v"), where="RAW_WHERE")
TABLE = Table(schema="public", name="t", columns=(ID, V), checks=(CK,), indexes=(IX,))

CASES: list[tuple[ops.Operation, list[tuple[str, str]]]] = [
    (ops.CreateTable(table=TABLE),
     [("default of column 'v'", "RAW_DEFAULT"), ("check 'ck'", "RAW_CHECK")]),
    (ops.AddColumn(table_name="t", column=V), [("default of column 'v'", "RAW_DEFAULT")]),
    (ops.AlterColumn(table_name="t", old=Column(name="v", type=text()), new=V,
                     using="RAW_USING"),
     [("default of column 'v'", "RAW_DEFAULT"), ("USING of column 'v'", "RAW_USING")]),
    (ops.CreateCheckConstraint(table_name="t", check=CK), [("check 'ck'", "RAW_CHECK")]),
    (ops.CreateIndex(table_name="t", index=IX),
     [("index 'ix' expression", "(RAW_EXPR)"), ("index 'ix' where=", "RAW_WHERE")]),
    (ops.RecreateEnum(enum_name="mood", old_values=("a",), values=("a", "b"),
                      columns=(ops.EnumColumnUse(schema="public", table_name="t",
                                                 column_name="m", default="RAW_DEFAULT"),)),
     [("default of column 'm'", "RAW_DEFAULT")]),
    (ops.DropTable(table=TABLE), []),
    (ops.DropIndex(table_name="t", index=IX), []),
]


@pytest.mark.parametrize(("op", "expected"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_raw_options_list_what_the_renderer_inserts_verbatim(
        op: ops.Operation, expected: list[tuple[str, str]]) -> None:
    assert raw_options(op) == expected
    sql = "\n".join(render(op))
    assert all(text in sql for _, text in expected)
    # Nothing raw is left unlisted: every RAW_ marker in the SQL belongs to a listed option.
    listed = "".join(text for _, text in expected)
    for marker in ("RAW_DEFAULT", "RAW_CHECK", "RAW_EXPR", "RAW_WHERE", "RAW_USING"):
        assert (marker in sql) <= (marker in listed), marker


def test_hint_names_only_the_options_that_can_hold_a_second_statement() -> None:
    hint = stacked_statement_hint([("check 'ck'", "v > 0"),
                                   ("index 'ix' where=", "true; DROP TABLE x")])
    assert "index 'ix' where= 'true; DROP TABLE x'" in hint
    assert "check 'ck'" not in hint
    assert "exactly one expression" in hint


def test_hint_without_a_suspect_still_explains_the_rule() -> None:
    hint = stacked_statement_hint([])
    assert hint.startswith("the statement holds more than one SQL command")


def test_blame_statements_carry_the_raw_options_they_hold() -> None:
    statements = blame_statements(Schema(tables=(TABLE,)), Existing(schemas=frozenset({"public"})))
    assert [(s.what, s.options) for s in statements] == [
        ("column types of table 't'", ()),
        ("default of column 't.v'", (("default of column 'v'", "RAW_DEFAULT"),)),
        ("check 'ck' on table 't'", (("check 'ck'", "RAW_CHECK"),)),
        ("index 'ix' on table 't'",
         (("index 'ix' expression", "(RAW_EXPR)"), ("index 'ix' where=", "RAW_WHERE"))),
    ]
