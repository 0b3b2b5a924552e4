"""A NUL byte in any model string that reaches SQL text or the catalog is a ModelError naming
the entity and field, raised when the model is built (before any I/O)."""

from __future__ import annotations

import enum
from typing import Any

import pytest

from linkgress import (
    DbContext,
    Entity,
    ModelError,
    PgClient,
    column,
    jsonb,
)
from linkgress.model.build import build_model
from linkgress.model.fluent import DbModelConfig as Config
from linkgress.model.types import enum_type
from tests.unit.models_fixture import Order, User

NUL = "\x00"


class Mood(enum.Enum):
    GOOD = "good"
    BAD = "bad"


class NulLabel(enum.Enum):
    GOOD = "go\x00od"


class EmptyLabel(enum.Enum):
    NOTHING = ""


class Plain(Entity):
    id: int
    name: str
    mood: Mood | None


class WithLabel(Entity):
    id: int
    mood: NulLabel


class WithEmptyLabel(Entity):
    id: int
    mood: EmptyLabel


def entity_with(attr: str, value: Any, hint: Any = str) -> type[Entity]:
    """An entity ``Odd`` with ``id`` and one column ``attr`` declared as ``value``."""
    namespace = {"__annotations__": {"id": int, attr: hint}, "__module__": __name__, attr: value}
    return type("Odd", (Entity,), namespace)


def build(tables: dict[str, type[Any]], setup: Any = None) -> Any:
    config = Config()
    if setup is not None:
        setup(config)
    return build_model(tables, config)


ENTITY_CASES = [
    # (entity, message) -- the attribute-level declarations
    (WithLabel, r"WithLabel\.mood: enum NulLabel label contains a NUL byte \(\\x00\): 'go\\x00od'"),
    (WithEmptyLabel, r"WithEmptyLabel\.mood: enum EmptyLabel label '' must be 1 to 63 bytes"),
    (entity_with("note", column(comment=f"a{NUL}b")),
     r"Odd\.note: column comment contains a NUL byte"),
    (entity_with("note", column(default_sql=f"'x'{NUL}")),
     r"Odd\.note: default_sql contains a NUL byte"),
    (entity_with("note", column(default=f"x{NUL}")),
     r"Odd\.note: default 'x\\x00' does not fit the column: .*NUL byte"),
    (entity_with("data", column(jsonb(), default={"k": f"v{NUL}"}), dict),
     r"Odd\.data: default .* does not fit the column: jsonb cannot hold a NUL"),
    (entity_with("note", column(name=f"n{NUL}")),
     r"Odd\.note: invalid column name 'n\\x00': it contains a NUL byte"),
    (entity_with("note", column(renamed_from=f"old{NUL}")),
     r"Odd\.note: invalid previous column name 'old\\x00': it contains a NUL byte"),
    (entity_with("n", column(check=f"n > 0{NUL}"), int),
     r"Odd\.n: check contains a NUL byte"),
    (entity_with("m", column(enum_type(f"mood{NUL}"))),
     r"Odd\.m: invalid enum type name 'mood\\x00'"),
    (entity_with("m", column(enum_type("mood", schema=f"s{NUL}"))),
     r"Odd\.m: invalid enum type schema name 's\\x00'"),
]


@pytest.mark.parametrize(("entity", "message"), ENTITY_CASES)
def test_nul_in_a_column_declaration_is_a_model_error(entity: type[Entity], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build({"t": entity})


def _plain(configure: Any) -> Any:
    return lambda m: configure(m.entity(Plain))


SETUP_CASES = [
    # (setup_model configuration, message) -- the fluent declarations
    (_plain(lambda e: e.has_comment(f"t{NUL}")), r"Plain: table comment contains a NUL byte"),
    (_plain(lambda e: e.property("name").has_comment(f"c{NUL}")),
     r"Plain\.name: column comment contains a NUL byte"),
    (_plain(lambda e: e.property("name").has_default_sql(f"'x'{NUL}")),
     r"Plain\.name: default_sql contains a NUL byte"),
    (_plain(lambda e: e.property("name").has_default(f"x{NUL}")),
     r"Plain\.name: default 'x\\x00' does not fit the column"),
    (_plain(lambda e: e.property("name").has_column_name(f"n{NUL}")),
     r"Plain\.name: invalid column name"),
    (_plain(lambda e: e.property("name").was_renamed_from(f"o{NUL}")),
     r"Plain\.name: invalid previous column name"),
    (_plain(lambda e: e.to_table(f"t{NUL}")), r"Plain: invalid table name 't\\x00'"),
    (_plain(lambda e: e.in_schema(f"s{NUL}")), r"Plain: invalid schema name 's\\x00'"),
    (lambda m: m.has_default_schema(f"s{NUL}"), r"Plain: invalid schema name 's\\x00'"),
    (_plain(lambda e: e.has_key("id", name=f"pk{NUL}")),
     r"Plain: invalid primary key name 'pk\\x00'"),
    (_plain(lambda e: e.has_index(f"ix{NUL}", "name")), r"Plain: invalid index name 'ix\\x00'"),
    (_plain(lambda e: e.has_index("ix", "name", where=f"name <> ''{NUL}")),
     r"Plain: index 'ix' where= contains a NUL byte"),
    (_plain(lambda e: e.has_index("ix", f"(lower(name{NUL}))")),
     r"Plain: index 'ix' expression contains a NUL byte"),
    (_plain(lambda e: e.has_unique(f"uq{NUL}", "name")),
     r"Plain: invalid constraint name 'uq\\x00'"),
    (_plain(lambda e: e.has_check(f"ck{NUL}", "true")), r"Plain: invalid constraint name"),
    (_plain(lambda e: e.has_check("ck", f"name <> ''{NUL}")),
     r"Plain: check 'ck' contains a NUL byte"),
    (lambda m: m.has_enum(Mood, name=f"mood{NUL}"), r"Plain\.mood: invalid enum name"),
    (lambda m: m.has_enum(Mood, schema=f"s{NUL}"), r"Plain\.mood: invalid enum schema name"),
    (lambda m: m.has_sequence(f"seq{NUL}"), r"invalid sequence name 'seq\\x00'"),
    (lambda m: m.has_sequence("seq", schema=f"s{NUL}"),
     r"sequence seq: invalid sequence schema name 's\\x00'"),
]


@pytest.mark.parametrize(("setup", "message"), SETUP_CASES)
def test_nul_in_a_fluent_setting_is_a_model_error(setup: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build({"t": Plain}, setup)


def test_nul_in_a_foreign_key_name_is_a_model_error() -> None:
    def setup(m: Config) -> None:
        m.entity(User).has_many("orders", Order).with_foreign_key("user_id") \
            .on_delete("cascade").has_constraint_name(f"fk{NUL}")

    with pytest.raises(ModelError, match=r"Order: invalid constraint name 'fk\\x00'"):
        build({"users": User, "orders": Order}, setup)


def test_nul_fails_when_the_context_is_created_without_io() -> None:
    class Broken(DbContext):
        t = DbContext.table(Plain)

        def setup_model(self, model: Config) -> None:
            model.entity(Plain).property("name").has_comment(f"c{NUL}")

    # An unreachable server: the model error comes first, before any connection attempt.
    with pytest.raises(ModelError, match="column comment contains a NUL byte") as info:
        Broken(PgClient(host="203.0.113.1", port=1))
    assert (info.value.entity, info.value.field) == ("Plain", "name")


def test_strings_without_nul_still_build() -> None:
    def setup(m: Config) -> None:
        m.entity(Plain).has_comment("it's \\ fine").has_check("ck", "name <> ';'") \
            .has_index("ix", "(lower(name))", where="name <> ''")

    meta = build({"t": Plain}, setup)
    assert meta.entities[0].comment == "it's \\ fine"
