"""Inserts, bulk inserts (COPY and multi-row INSERT), upserts, updates and deletes against real
PostgreSQL: generated values, conversions, hostile strings, NULLs, returning, bad input."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import pytest

from linkgress.errors import QueryBuildError, UniqueViolation
from linkgress.query import mutations
from tests.integration.mutation_models import (
    HOSTILE,
    Club,
    LogLine,
    Member,
    Note,
    Setting,
    Status,
    reset,
)


async def stored(db: Club, member_id: int) -> dict[str, object]:
    """The row as PostgreSQL has it, read with plain SQL (enums and jsonb as text)."""
    row = await db.client.fetchrow(
        "SELECT handle, email, status::text AS status, score, balance, token,"
        " settings::text AS settings, tags, age FROM members WHERE id = $1", member_id)
    assert row is not None
    return dict(row)


# --- insert ---------------------------------------------------------------------------------


async def test_insert_returns_the_entity_with_generated_values(db: Club) -> None:
    alice = Member(handle="alice")
    returned = await db.members.insert(alice)
    assert returned is alice
    assert isinstance(alice.id, int) and alice.id > 0
    assert alice.status is Status.ACTIVE
    assert alice.score == 0
    assert alice.balance == Decimal("0.00")
    assert alice.joined_at is not None and alice.joined_at.tzinfo is not None
    assert alice.email is None and alice.settings is None
    second = await db.members.insert(Member(handle="bob"))
    assert second.id == alice.id + 1


async def test_insert_a_dict_returns_a_new_entity(db: Club) -> None:
    bob = await db.members.insert({"handle": "bob", "status": Status.BANNED, "score": 3})
    assert isinstance(bob, Member)
    assert (bob.handle, bob.status, bob.score) == ("bob", Status.BANNED, 3)
    assert await stored(db, bob.id) == {
        "handle": "bob", "email": None, "status": "banned", "score": 3,
        "balance": Decimal("0.00"), "token": None, "settings": None, "tags": None, "age": None}


async def test_insert_converts_and_round_trips_every_kind_of_value(db: Club) -> None:
    token = uuid.uuid4()
    m = await db.members.insert(Member(
        handle="chloë ✓", email=HOSTILE, status=Status.ODD, balance=Decimal("1234.50"),
        token=token, settings={"theme": "dark", "nested": [1, None, {"x": HOSTILE}]},
        tags=["a", HOSTILE, ""], age=0))
    assert m.status is Status.ODD
    assert m.settings == {"theme": "dark", "nested": [1, None, {"x": HOSTILE}]}
    row = await stored(db, m.id)
    assert row["email"] == HOSTILE
    assert row["status"] == "it's \"odd\""
    assert row["balance"] == Decimal("1234.50")
    assert row["token"] == token
    assert row["tags"] == ["a", HOSTILE, ""]
    assert row["settings"] is not None and HOSTILE[:5] in str(row["settings"])
    again = await db.members.where(lambda u: u.id == m.id).first()
    assert again == m
    # a hostile string did not change the SQL: the table is still there, with one row
    assert await db.members.count() == 1


async def test_insert_json_scalars_and_explicit_none(db: Club) -> None:
    text_json = await db.members.insert(Member(handle="s", settings="just text"))
    assert text_json.settings == "just text"
    assert (await stored(db, text_json.id))["settings"] == '"just text"'
    listed = await db.members.insert(Member(handle="l", settings=[1, 2]))
    assert (await db.members.where(lambda u: u.id == listed.id).first()).settings == [1, 2]
    nulled = await db.members.insert(Member(handle="n", email=None, settings=None))
    assert (await stored(db, nulled.id))["settings"] is None


async def test_insert_rejects_unknown_fields_and_other_entities(db: Club) -> None:
    with pytest.raises(QueryBuildError, match="'nickname'"):
        await db.members.insert({"handle": "x", "nickname": "y"})
    with pytest.raises(QueryBuildError, match="Member"):
        await db.members.insert(Note(body="x", member_id=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nickname"):
        Member(handle="x", nickname="y")
    assert await db.members.count() == 0


async def test_insert_with_composite_key_and_keyless_tables(db: Club) -> None:
    s = await db.settings.insert(Setting(scope="app", name="colour", value="blue"))
    assert (s.scope, s.name, s.value) == ("app", "colour", "blue")
    line = await db.log_lines.insert(LogLine(line=HOSTILE))
    assert line.line == HOSTILE


# --- insert_many ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 7, mutations.COPY_THRESHOLD - 1,
                                   mutations.COPY_THRESHOLD, 2500])
async def test_insert_many_inserts_every_row_on_both_paths(db: Club, count: int) -> None:
    rows = [Member(handle=f"m{i} {HOSTILE}", status=Status.ODD if i % 2 else Status.BANNED,
                   settings={"i": i}, tags=[str(i)], email=None if i % 3 else f"{i}@x")
            for i in range(count)]
    assert await db.members.insert_many(rows) == count
    got = await db.members.order_by(lambda u: u.id).to_list()
    assert [g.handle for g in got] == [r.handle for r in rows]
    assert [g.status for g in got] == [r.status for r in rows]
    assert [g.settings for g in got] == [{"i": i} for i in range(count)]
    assert [g.email for g in got] == [r.email for r in rows]
    assert all(g.score == 0 and g.joined_at is not None for g in got)


async def test_insert_many_accepts_dicts_generators_and_mixed_field_sets(db: Club) -> None:
    def rows():  # type: ignore[no-untyped-def]
        for i in range(150):
            yield {"handle": f"d{i}"} if i % 2 else Member(handle=f"e{i}", score=i)

    assert await db.members.insert_many(rows()) == 150
    scores = await db.members.where(lambda u: u.score > 0).count()
    assert scores == 74  # the entities with i > 0 set a score; the dicts leave the default
    assert await db.members.insert_many([]) == 0


async def test_insert_many_copy_of_rows_setting_different_fields(db: Club) -> None:
    tagged = [Member(handle=f"t{i}", status=Status.ODD, settings={"i": i}, tags=[HOSTILE])
              for i in range(150)]
    noted = Member(handle="noted", score=7)
    noted.note = "not a column"  # type: ignore[attr-defined]  # never sent
    rows: list[Member | dict[str, object]] = [
        *tagged[:100], {"handle": "plain", "status": "banned"}, noted, *tagged[100:],
        Member(handle="scored", score=3, settings=[1, "two"])]
    assert await db.members.insert_many(rows) == 153
    got = {m.handle: m for m in await db.members.to_list()}
    assert len(got) == 153
    assert all(got[f"t{i}"].settings == {"i": i} and got[f"t{i}"].status is Status.ODD
               and got[f"t{i}"].tags == [HOSTILE] and got[f"t{i}"].score == 0
               for i in range(150))
    assert (got["plain"].status, got["plain"].score) == (Status.BANNED, 0)
    assert (got["noted"].score, got["noted"].settings) == (7, None)
    assert (got["scored"].score, got["scored"].settings) == (3, [1, "two"])


async def test_insert_many_refuses_a_late_row_of_another_table_before_sending(db: Club) -> None:
    rows = [Member(handle=f"m{i}") for i in range(150)]
    with pytest.raises(QueryBuildError, match="Member"):
        await db.members.insert_many([*rows, Note(body="x", member_id=1)])  # type: ignore[list-item]
    with pytest.raises(QueryBuildError, match="'nickname'"):
        await db.members.insert_many([*({"handle": f"d{i}"} for i in range(150)),
                                      {"nickname": "x"}])
    assert await db.members.count() == 0


async def logged_copies(db: Club, caplog: pytest.LogCaptureFixture,
                        rows: list[Member | dict[str, object]]) -> int:
    """insert_many(rows) with the query log on; how many COPY statements it logged."""
    caplog.clear()
    db.client.log_queries = True
    try:
        with caplog.at_level(logging.INFO, logger="linkgress.sql"):
            assert await db.members.insert_many(rows) == len(rows)
    finally:
        db.client.log_queries = False
    return len([r for r in caplog.records if r.getMessage().startswith("COPY ")])


async def test_insert_many_copy_when_a_middle_row_differs(
    db: Club, caplog: pytest.LogCaptureFixture
) -> None:
    rows: list[Member | dict[str, object]] = [
        Member(handle=f"m{i}", status=Status.BANNED, settings={"i": i}) for i in range(250)]
    assert await logged_copies(db, caplog, rows) == 1
    await reset(db)
    # Rows 0-119 go into one COPY; then, in the same transaction, rows 123-249 (the first
    # shape's first: another COPY) and rows 120, 121 and 122 (an INSERT each).
    rows[120] = {"handle": "dict", "status": Status.ODD, "settings": None, "score": 5}
    rows[121] = Member(handle="other", status=Status.ODD, settings=[], age=3)
    rows[122] = {"handle": "dict2", "score": 6, "settings": None, "status": Status.ODD}
    assert await logged_copies(db, caplog, rows) == 2
    got = await db.members.order_by(lambda m: m.id).to_list()
    assert [m.handle for m in got] == [  # as on the general path: group by group
        *(f"m{i}" for i in range(120)), *(f"m{i}" for i in range(123, 250)),
        "dict", "dict2", "other"]
    assert got[-4].settings == {"i": 249} and got[-4].status is Status.BANNED
    assert [(m.score, m.status, m.settings) for m in got[-3:-1]] == [
        (5, Status.ODD, None), (6, Status.ODD, None)]
    assert (got[-1].age, got[-1].settings, got[-1].score) == (3, [], 0)


async def test_insert_many_copy_errors_of_a_middle_row_are_those_of_the_row(db: Club) -> None:
    rows = [Member(handle=f"m{i}", settings={"i": i}) for i in range(200)]
    rows[150].settings = {"not json": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        await db.members.insert_many(rows)
    rows[150] = Note(body="x", member_id=1)  # type: ignore[call-overload]
    with pytest.raises(QueryBuildError, match="Member"):
        await db.members.insert_many(rows)
    rows[150] = Member(handle="m3", settings=None)  # handle taken by row 3
    with pytest.raises(UniqueViolation):
        await db.members.insert_many(rows)
    assert await db.members.count() == 0
    rows[150] = Member(handle="m150", settings=None)
    assert await db.members.insert_many(rows) == 200  # the connections are fine


async def test_insert_many_is_all_or_nothing(db: Club) -> None:
    await db.members.insert(Member(handle="taken"))
    small = [Member(handle=f"s{i}") for i in range(5)] + [Member(handle="taken")]
    with pytest.raises(UniqueViolation):
        await db.members.insert_many(small)
    big = [Member(handle=f"b{i}") for i in range(300)] + [{"handle": "taken", "score": 1}]
    with pytest.raises(UniqueViolation):
        await db.members.insert_many(big)  # a COPY and an INSERT: one transaction
    assert await db.members.count() == 1


async def test_insert_many_splits_statements_at_the_parameter_limit(db: Club) -> None:
    # 3 columns x 99 rows per call stays under COPY; many calls of 1000 rows would need
    # more than 32767 parameters in one statement if not chunked.
    rows = [{"member_id": 0, "body": HOSTILE, "stars": i} for i in range(99)]
    member = await db.members.insert(Member(handle="n"))
    for row in rows:
        row["member_id"] = member.id
    assert await db.notes.insert_many(rows) == 99
    big = [Setting(scope=f"s{i}", name="n", value=None) for i in range(12_000)]
    original = mutations.COPY_THRESHOLD
    mutations.COPY_THRESHOLD = 10**9  # force the INSERT path for a large batch
    try:
        assert await db.settings.insert_many(big) == 12_000
    finally:
        mutations.COPY_THRESHOLD = original
    assert await db.settings.count() == 12_000


# --- upsert ---------------------------------------------------------------------------------


async def test_upsert_updates_listed_columns_on_conflict(db: Club) -> None:
    alice = await db.members.insert(Member(handle="alice", score=1, email="old@x"))
    changed = await db.members.upsert(
        [Member(handle="alice", score=50, email="new@x"), Member(handle="bob", score=2)],
        conflict=["handle"], update=["score"])
    assert changed == 2
    got = await db.members.where(lambda u: u.id == alice.id).first()
    assert (got.score, got.email) == (50, "old@x")  # email was not listed
    assert await db.members.count() == 2


async def test_upsert_do_nothing_and_lambda_members(db: Club) -> None:
    await db.members.insert(Member(handle="alice", score=1))
    skipped = await db.members.upsert({"handle": "alice", "score": 99},
                                      conflict=[lambda u: u.handle])
    assert skipped == 0
    assert (await db.members.first()).score == 1


async def test_upsert_with_a_dict_of_values_and_a_composite_key(db: Club) -> None:
    await db.settings.insert(Setting(scope="app", name="a", value="1"))
    n = await db.settings.upsert(
        [Setting(scope="app", name="a", value="x"), Setting(scope="app", name="b", value="2")],
        conflict=["scope", "name"], update={"value": HOSTILE})
    assert n == 2
    values = await db.settings.order_by(lambda s: s.name).select(lambda s: s.value).to_list()
    assert values == [HOSTILE, "2"]


async def test_upsert_large_batch_and_bad_arguments(db: Club) -> None:
    rows = [Member(handle=f"h{i}", score=i) for i in range(500)]
    assert await db.members.upsert(rows, conflict=["handle"], update=["score"]) == 500
    rows = [Member(handle=f"h{i}", score=-i) for i in range(500)]
    assert await db.members.upsert(rows, conflict=["handle"], update=["score"]) == 500
    assert await db.members.sum(lambda u: u.score) == -sum(range(500))
    with pytest.raises(QueryBuildError, match="'nope'"):
        await db.members.upsert(rows, conflict=["nope"])
    with pytest.raises(QueryBuildError, match="conflict"):
        await db.members.upsert(rows, conflict=[])
    with pytest.raises(QueryBuildError, match="'missing'"):
        await db.members.upsert(rows, conflict=["handle"], update=["missing"])


# --- update ---------------------------------------------------------------------------------


async def test_update_with_values_counts_rows_and_binds_everything(db: Club) -> None:
    await db.members.insert_many([Member(handle=f"u{i}", score=i) for i in range(10)])
    n = await db.members.where(lambda u: u.score >= 5).update(
        {"email": HOSTILE, "status": Status.BANNED, "settings": {"k": HOSTILE}})
    assert n == 5
    banned = await db.members.where(lambda u: u.status == Status.BANNED).to_list()
    assert sorted(m.score for m in banned) == [5, 6, 7, 8, 9]
    assert {m.email for m in banned} == {HOSTILE}
    assert {m.settings["k"] for m in banned} == {HOSTILE}
    assert await db.members.where(lambda u: u.score > 100).update({"score": 0}) == 0


async def test_update_with_expressions_and_to_null(db: Club) -> None:
    await db.members.insert_many([Member(handle=f"u{i}", score=i, email="e") for i in range(4)])
    assert await db.members.update(lambda u: {"score": u.score * 10 + 1, "email": None}) == 4
    scores = await db.members.order_by(lambda u: u.id).select(lambda u: u.score).to_list()
    assert scores == [1, 11, 21, 31]
    assert await db.members.where(lambda u: u.email.is_null()).count() == 4


async def test_update_returning_projection_and_entities(db: Club) -> None:
    a = await db.members.insert(Member(handle="a", score=1))
    rows = await db.members.where(lambda u: u.id == a.id).update({"score": 2}).returning(
        lambda u: {"id": u.id, "score": u.score, "status": u.status})
    assert rows == [{"id": a.id, "score": 2, "status": Status.ACTIVE}]
    entities = await db.members.where(lambda u: u.id == a.id).update(
        lambda u: {"score": u.score + 1}).returning()
    assert len(entities) == 1 and isinstance(entities[0], Member)
    assert entities[0].score == 3 and entities[0].handle == "a"
    assert await db.members.where(lambda u: u.id == -1).update({"score": 0}).returning() == []


async def test_update_filter_through_a_navigation(db: Club) -> None:
    a = await db.members.insert(Member(handle="a"))
    b = await db.members.insert(Member(handle="b"))
    await db.notes.insert_many([Note(member_id=a.id, body="x"), Note(member_id=b.id, body="y")])
    n = await db.notes.where(lambda n: n.member.handle == "a").update({"stars": 5})
    assert n == 1
    assert await db.notes.where(lambda n: n.stars == 5).select(lambda n: n.body).to_list() == [
        "x"]


async def test_updates_and_deletes_in_a_loop_bind_each_calls_values(db: Club) -> None:
    # the same lambda replayed: from the second call on, the SQL and the parameters come from
    # the lambda's plan (no condition rebuilt); every call must still write its own values.
    # (B023: a query lambda runs when the query is built, inside its loop iteration.)
    ids = [(await db.members.insert(Member(handle=f"m{i}", score=0))).id for i in range(6)]
    for i, member_id in enumerate(ids):
        n = await db.members.where(lambda u: u.id == member_id).update(  # noqa: B023
            {"score": i * 10, "email": None if i % 2 else f"m{i}@x.io"})
        assert n == 1
    for i, member_id in enumerate(ids[:3]):  # another SET list through the same lambda
        assert await db.members.where(lambda u: u.id == member_id).update(  # noqa: B023
            {"handle": f"renamed {i}"}) == 1
    for member_id in ids[:2]:  # an expression: the general path, right as well
        assert await db.members.where(lambda u: u.id == member_id).update(  # noqa: B023
            lambda u: {"score": u.score + 1}) == 1
    rows = await db.members.order_by(lambda u: u.id).select(
        lambda u: (u.handle, u.score, u.email)).to_list()
    assert rows == [("renamed 0", 1, "m0@x.io"), ("renamed 1", 11, None),
                    ("renamed 2", 20, "m2@x.io"), ("m3", 30, None), ("m4", 40, "m4@x.io"),
                    ("m5", 50, None)]
    for low, deleted in ((45, 1), (25, 2)):
        assert await db.members.where(lambda u: u.score > low).delete() == deleted  # noqa: B023
    assert await db.members.count() == 3
    with pytest.raises(QueryBuildError, match="score"):  # still checked on the replayed path
        db.members.where(lambda u: u.id == member_id).update({"score": "high"})


async def test_update_rejects_bad_values_when_built(db: Club) -> None:
    with pytest.raises(QueryBuildError, match="'nickname'"):
        db.members.where(lambda u: u.id == 1).update({"nickname": "x"})
    with pytest.raises(QueryBuildError, match="score"):
        db.members.update({"score": "not a number"})
    with pytest.raises(QueryBuildError, match="nickname"):
        db.members.update(lambda u: {"score": u.nickname})
    with pytest.raises(QueryBuildError):
        db.members.update({})
    with pytest.raises(QueryBuildError, match="dict"):
        db.members.update(["score"])


async def test_update_and_delete_entities_by_primary_key(db: Club) -> None:
    a = await db.members.insert(Member(handle="a", score=1))
    b = await db.members.insert(Member(handle="b", score=1))
    a.score = 42
    a.email = HOSTILE
    assert await db.members.update(a) == 1
    assert (await db.members.where(lambda u: u.id == a.id).first()).score == 42
    assert (await db.members.where(lambda u: u.id == b.id).first()).score == 1
    assert await db.members.delete(b) == 1
    assert await db.members.delete(b) == 0  # already gone
    assert await db.members.update(b) == 0
    assert await db.members.count() == 1


async def test_entity_updates_check_every_value_on_every_call(db: Club) -> None:
    # update(entity) binds its values without building a statement tree once its SQL is
    # cached; the checks stay, on each call, on the line that makes it
    member = await db.members.insert(Member(handle="checked", score=1))
    for score in (2, 3):
        member.score = score
        assert await db.members.update(member) == 1
    for bad in ("many", True):  # text, and a bool, for an integer column
        member.score = bad
        with pytest.raises(QueryBuildError, match="score"):
            db.members.update(member)
    member.score = 4
    member.balance = 2.5  # a float for numeric(12, 2): written as the decimal it prints as
    member.status = Status.BANNED
    assert await db.members.update(member) == 1
    member.status = "no such status"
    with pytest.raises(QueryBuildError, match="status"):
        db.members.update(member)
    stranger = Member(id="not a number", handle="x")
    with pytest.raises(QueryBuildError, match="id"):
        db.members.update(stranger)
    row = await db.members.where(lambda u: u.id == member.id).first()
    assert (row.score, row.balance, row.status) == (4, Decimal("2.50"), Status.BANNED)


async def test_entity_update_and_delete_with_a_composite_key(db: Club) -> None:
    s = await db.settings.insert(Setting(scope="app", name="a", value="1"))
    await db.settings.insert(Setting(scope="app", name="b", value="1"))
    s.value = "2"
    assert await db.settings.update(s) == 1
    assert await db.settings.order_by(lambda x: x.name).select(lambda x: x.value).to_list() == [
        "2", "1"]
    assert await db.settings.delete(s) == 1
    assert await db.settings.count() == 1


async def test_a_joined_entity_with_a_composite_key_is_one_object_per_key(db: Club) -> None:
    await db.settings.insert_many([Setting(scope="ui", name=n, value=n) for n in "ab"])
    rows = await (db.settings.join(db.settings, lambda s, t: s.scope == t.scope)
                  .where(lambda s, t: s.scope == "ui").to_list())
    assert len(rows) == 4  # every pair of the two settings
    joined = {(t.scope, t.name): t for _, t in rows}
    assert sorted(joined) == [("ui", "a"), ("ui", "b")]
    for _, t in rows:  # the right side: one object per (scope, name)
        assert t is joined[t.scope, t.name]
    assert len({id(s) for s, _ in rows}) == 4  # the query's own rows: one object per row


async def test_entity_update_and_delete_need_a_key(db: Club) -> None:
    line = await db.log_lines.insert(LogLine(line="x"))
    with pytest.raises(QueryBuildError, match="primary key"):
        db.log_lines.update(line)
    with pytest.raises(QueryBuildError, match="primary key"):
        db.log_lines.delete(line)
    with pytest.raises(QueryBuildError, match="not set"):
        db.members.update(Member(handle="never inserted"))
    with pytest.raises(QueryBuildError, match="Member"):
        db.members.delete(line)
    # the keyless table can still be changed through a filter
    assert await db.log_lines.where(lambda x: x.line == "x").update({"line": "y"}) == 1


# --- delete ---------------------------------------------------------------------------------


async def test_delete_counts_and_returns_rows(db: Club) -> None:
    await db.members.insert_many([Member(handle=f"u{i}", score=i) for i in range(6)])
    assert await db.members.where(lambda u: u.score < 2).delete() == 2
    gone = await db.members.where(lambda u: u.score >= 4).delete().returning(
        lambda u: u.handle)
    assert sorted(gone) == ["u4", "u5"]
    assert await db.members.where(lambda u: u.handle == HOSTILE).delete() == 0
    assert await db.members.delete() == 2
    assert await db.members.count() == 0


async def test_delete_with_ordering_and_limit(db: Club) -> None:
    await db.members.insert_many([Member(handle=f"u{i}", score=i) for i in range(6)])
    n = await db.members.order_by(lambda u: u.score, descending=True).limit(2).delete()
    assert n == 2
    assert await db.members.max(lambda u: u.score) == 3
