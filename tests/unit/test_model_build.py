"""Model building: conventions, fluent overrides and validation (no database)."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
import pickle
import uuid
from typing import Any

import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    ModelError,
    PgClient,
    column,
    integer,
    numeric,
    varchar,
)
from linkgress.errors import QueryBuildError
from linkgress.model.build import build_model
from linkgress.model.entity import ColumnInfo
from linkgress.model.fluent import DbModelConfig as Config
from tests.unit.models_fixture import AppDatabase, Order, OrderStatus, User


def make(tables: dict[str, type[Any]], setup: Any = None) -> Any:
    config = Config()
    if setup is not None:
        setup(config)
    return build_model(tables, config)


def test_conventions_from_the_design_example() -> None:
    db = AppDatabase(PgClient())
    users = db.model.entity(User)
    assert (users.schema, users.table) == ("public", "users")
    assert users.primary_key == ("id",)
    assert users.column("id").identity == "by default"
    assert users.column("username").type.sql == "character varying(100)"
    assert users.column("username").nullable is False
    assert users.column("phone_number").nullable is True
    assert users.column("created_at").default == "now()"
    assert [u.name for u in users.uniques] == ["users_email_key"]
    orders = db.model.entity(Order)
    assert (orders.schema, orders.table) == ("shop", "orders")
    assert orders.column("status").type.is_enum
    assert orders.column("status").type.sql == '"public"."order_status"'
    assert orders.column("status").default == '\'pending\'::"public"."order_status"'
    assert orders.column("tags").type.sql == "text[]"
    assert orders.column("token").type.sql == "uuid"
    assert orders.column("data").type.sql == "jsonb"
    assert orders.column("total").type.sql == "numeric"
    (fk,) = orders.foreign_keys
    assert (fk.name, fk.columns, fk.ref_table, fk.on_delete) == (
        "orders_user_id_fkey",
        ("user_id",),
        "users",
        "CASCADE",
    )
    assert [i.name for i in orders.indexes] == ["ix_orders_user_id", "ix_orders_status"]
    (enum_meta,) = db.model.enums
    assert (enum_meta.name, enum_meta.values) == ("order_status", ("pending", "done", "it's"))
    nav = users.navigation_by_name["orders"]
    assert (nav.kind, nav.target, nav.local_columns, nav.remote_columns) == (
        "many",
        Order,
        ("id",),
        ("user_id",),
    )


def test_model_is_built_once_per_context_class() -> None:
    first = AppDatabase(PgClient())
    second = AppDatabase(PgClient())
    assert first.model is second.model


class Everything(Entity):
    id: int
    a_bool: bool
    a_float: float
    a_decimal: decimal.Decimal
    a_date: dt.date
    a_time: dt.time
    a_delta: dt.timedelta
    a_uuid: uuid.UUID
    a_bytes: bytes
    a_list: list[int]
    a_json_list: list[dict[str, int]]
    a_maybe: str | None


@pytest.mark.parametrize(
    ("attr", "sql"),
    [
        ("a_bool", "boolean"),
        ("a_float", "double precision"),
        ("a_decimal", "numeric"),
        ("a_date", "date"),
        ("a_time", "time without time zone"),
        ("a_delta", "interval"),
        ("a_uuid", "uuid"),
        ("a_bytes", "bytea"),
        ("a_list", "integer[]"),
        ("a_json_list", "jsonb"),
        ("a_maybe", "text"),
    ],
)
def test_type_inference(attr: str, sql: str) -> None:
    meta = make({"everything": Everything}).entity(Everything)
    assert meta.column(attr).type.sql == sql


def test_fluent_settings_override_annotations() -> None:
    def setup(model: DbModelConfig) -> None:
        (
            model.entity(User)
            .to_table("people", schema="auth")
            .property("email")
            .has_type(varchar(255))
            .is_required()
        )
        model.entity(User).property(lambda u: u.phone_number).has_column_name("phone")
        model.entity(User).has_index(
            "ix_people_lower_email", "(lower(email))", unique=True, where="phone IS NOT NULL"
        )
        model.entity(User).has_check("username_not_blank", "username <> ''")

    meta = make({"users": User}, setup).entity(User)
    assert (meta.schema, meta.table) == ("auth", "people")
    assert meta.column("email").type.sql == "character varying(255)"
    assert meta.column("phone_number").name == "phone"
    (ix,) = meta.indexes
    assert (ix.columns, ix.unique, ix.where) == (("(lower(email))",), True, "phone IS NOT NULL")
    assert meta.checks[0].expression == "username <> ''"


class Tag(Entity):
    post_id: int
    label: str


def test_composite_primary_key_with_has_key() -> None:
    meta = make({"tags": Tag}, lambda m: m.entity(Tag).has_key("post_id", "label")).entity(Tag)
    assert meta.primary_key == ("post_id", "label")
    assert meta.primary_key_name == "tags_pkey"
    assert all(c.identity is None for c in meta.columns)


def test_entity_without_key_is_an_error_unless_declared_keyless() -> None:
    with pytest.raises(ModelError, match=r"Tag: has no primary key"):
        make({"tags": Tag})
    meta = make({"tags": Tag}, lambda m: m.entity(Tag).has_no_key()).entity(Tag)
    assert meta.primary_key == ()


class Dup(Entity):
    id: int
    a: str = column(name="same")
    b: str = column(name="same")


class Unsupported(Entity):
    id: int
    weird: complex


class BadDefault(Entity):
    id: int
    count: int = column(default="zero")


class TooLong(Entity):
    id: int
    x: str = column(name="x" * 64)


class Dangling(Entity):
    id: int
    user_id: int = column(references=User)


class BadIndex(Entity):
    id: int
    name: str


class BadAction(Entity):
    id: int
    user_id: int = column(references=User, on_delete="explode")


class VarcharTooShort(Entity):
    id: int
    code: str = column(varchar(2), default="abc")


@pytest.mark.parametrize(
    ("tables", "setup", "message"),
    [
        ({"d": Dup}, None, r"Dup\.b: duplicate column name 'same'"),
        ({"u": Unsupported}, None, r"Unsupported\.weird: unsupported annotation"),
        ({"b": BadDefault}, None, r"BadDefault\.count: default 'zero' does not fit"),
        ({"t": TooLong}, None, r"TooLong\.x: column name 'x+' is 64 bytes long"),
        ({"d": Dangling}, None, r"Dangling\.user_id: references User, which the context does not"),
        (
            {"b": BadIndex},
            lambda m: m.entity(BadIndex).has_index("ix", "nope"),
            r"BadIndex\.nope: index 'ix' names unknown column 'nope'",
        ),
        ({"b": BadAction, "users": User}, None, r"BadAction\.user_id: unknown foreign key action"),
        ({"v": VarcharTooShort}, None, r"VarcharTooShort\.code: default 'abc' does not fit"),
        ({"t": Tag}, lambda m: m.entity(Tag).has_key("nope"), r"Tag\.nope: has_key names unknown"),
        (
            {"b": BadIndex},
            lambda m: m.entity(BadIndex).to_table("t" * 64),
            r"BadIndex: table name 't+' is 64 bytes long",
        ),
        (
            {"b": BadIndex},
            lambda m: m.entity(BadIndex).has_index("ix", "name", method="fancy"),
            r"BadIndex: index 'ix' has unknown method 'fancy'",
        ),
        ({"b": BadIndex}, lambda m: m.entity(User), r"User: setup_model configures an entity"),
    ],
)
def test_invalid_models_raise_model_error_naming_the_place(
    tables: dict[str, type[Any]], setup: Any, message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        make(tables, setup)


def test_invalid_model_fails_when_the_context_is_created_without_io() -> None:
    class Broken(DbContext):
        d = DbContext.table(Dup)

    # An unreachable server: building must fail before anything tries to connect.
    with pytest.raises(ModelError, match="duplicate column name"):
        Broken(PgClient(host="203.0.113.1", port=1))


def test_model_error_is_a_value_error_with_fields() -> None:
    with pytest.raises(ValueError) as info:
        make({"d": Dup})
    assert isinstance(info.value, ModelError)
    assert (info.value.entity, info.value.field) == ("Dup", "b")


def test_generated_names_are_shortened_to_63_bytes() -> None:
    class LongNames(Entity):
        id: int
        a_very_long_column_name_that_goes_on_and_on_and_on: int = column(index=True)

    meta = make({"a_rather_long_table_name_for_testing_purposes": LongNames}).entity(LongNames)
    (ix,) = meta.indexes
    assert len(ix.name.encode()) <= 63
    assert ix.name.startswith("ix_a_rather_long_table_name")


def test_two_enums_with_the_same_name_are_rejected() -> None:
    class Status(enum.Enum):
        A = "a"

    other_status = enum.Enum("Status", {"B": "b"})

    class One(Entity):
        id: int
        s: Status

    class Three(Entity):
        id: int
        s: other_status  # type: ignore[valid-type]

    with pytest.raises(ModelError, match=r"both map to PostgreSQL type public\.status"):
        make({"one": One, "three": Three})
    assert make({"one": One}).entity(One).column("s").type.name == "status"


def test_identity_needs_an_integer_type() -> None:
    class BadIdentity(Entity):
        id: int
        code: str = column(identity=True)

    with pytest.raises(ModelError, match="identity column must be an integer"):
        make({"b": BadIdentity})


def test_numeric_and_length_validation_of_type_builders() -> None:
    assert numeric(10, 2).sql == "numeric(10,2)"
    assert integer().display == "INTEGER"
    with pytest.raises(ValueError, match="varchar length must be a positive integer"):
        varchar(0)
    with pytest.raises(ValueError, match="numeric scale"):
        numeric(2, 5)


def test_entity_constructor_and_unset_fields() -> None:
    user = User(username="alice", email="a@x.io")
    assert user.id is None
    assert user.username == "alice"
    assert Order().status is OrderStatus.PENDING
    assert "status" not in Order().__dict__  # unset: the insert leaves it to the database
    with pytest.raises(TypeError, match="unexpected field 'nope'"):
        User(nope=1)
    assert User(username="a") == User(username="a")
    assert User(username="a") != User(username="b")


class _Account(Entity):
    id: int
    name: str = column(varchar(50))
    tags: list[str] = column(default=[])
    score: int = 5


class _Admin(_Account):
    level: int = column(default=1)


def test_entity_fields_are_plain_instance_attributes_over_their_defaults() -> None:
    account = _Account(name="ann")
    # unset fields read their default (the same default object, as before) or None
    assert (account.id, account.name, account.score, account.tags) == (None, "ann", 5, [])
    assert vars(account) == {"name": "ann"}  # only what was given: the insert sends that
    account.score = 7
    assert account.score == 7 and _Account().score == 5
    # on the class, a field is still its declaration (what a query lambda refuses by name)
    assert isinstance(_Account.name, ColumnInfo) and _Account.name.attr == "name"
    assert isinstance(_Admin.score, ColumnInfo) and _Admin.level.default == 1
    admin = _Admin(name="root")
    assert (admin.level, admin.score, admin.id) == (1, 5, None)
    assert _Admin.__linkgress_fields__ == ("id", "name", "tags", "score", "level")
    with pytest.raises(TypeError, match="unexpected field 'nope'"):
        _Admin(nope=1)
    # ordinary objects: repr, ==, pickling, copying
    assert repr(admin) == "_Admin(name='root')"
    clone = pickle.loads(pickle.dumps(admin))
    assert clone == admin and clone.level == 1 and vars(clone) == {"name": "root"}
    assert copy.copy(admin) == admin


def test_a_class_attribute_in_a_query_lambda_is_refused_by_name() -> None:
    db = AppDatabase(PgClient(dsn="postgresql://u@localhost/app"))
    with pytest.raises(QueryBuildError, match="'username' is a column of another entity"):
        db.orders.where(lambda o: o.status == User.username)
