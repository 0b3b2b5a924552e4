"""Databases other tools made (issue 10): notes reach the user, serial keys, deferrable foreign
keys, ensure_deleted's cascade report and indexes on partitioned tables — on a real server."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    MigrationError,
    bigserial,
    column,
    date,
    integer,
    serial,
    smallserial,
    text,
)
from tests.integration.migrate_support import execute, opened, rows


class Item(Entity):
    id: int
    code: str = column(text())
    qty: int = column(integer())


class Items(DbContext):
    items = DbContext.table(Item)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Item).has_index("ix_items_code", "code")


# -- bug 3: notes reach analyze_full(), the migrate log and the CLI ------------------------------


async def _items_with_options(dsn: str) -> None:
    async with opened(Items, dsn) as db:
        await db.get_schema_manager().ensure_created()
    await execute(dsn, "CREATE INDEX ix_items_code_desc ON items (code DESC) INCLUDE (qty)")


async def test_introspection_notes_reach_analyze_full(linkgress_database: str) -> None:
    await _items_with_options(linkgress_database)
    async with opened(Items, linkgress_database) as db:
        result = await db.get_schema_manager().analyze_full()
    assert result.operations == []
    # Its sort order and INCLUDE columns are compared now; as an index the model does not
    # declare, it is an unmanaged note.
    assert any("ix_items_code_desc" in n and "unmanaged" in n for n in result.notes)


async def test_introspection_notes_reach_the_migrate_log(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await _items_with_options(linkgress_database)
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(Items, linkgress_database) as db:
        assert await db.get_schema_manager().migrate() == []
    notes = [r.getMessage() for r in caplog.records if r.name == "linkgress.migrate"]
    assert any(m.startswith("note: ") and "ix_items_code_desc" in m for m in notes)


# -- bug 2: serial keys -------------------------------------------------------------------------


class Artist(Entity):
    artist_id: int = column(serial(), primary_key=True)
    name: str = column(text())


class Track(Entity):
    track_id: int = column(bigserial(), primary_key=True)
    artist_id: int = column(integer(), references=Artist)
    position: int = column(smallserial())


class Music(DbContext):
    artist = DbContext.table(Artist)
    track = DbContext.table(Track)


async def _assert_adopted(dsn: str) -> None:
    async with opened(Music, dsn) as db:
        sm = db.get_schema_manager()
        result = await sm.analyze_full()
        assert result.operations == []
        assert not [n for n in result.notes if "sequence" in n]
        assert await sm.migrate() == []
        await db.artist.insert(Artist(name="Miles"))
    assert await rows(dsn, "SELECT artist_id, name FROM artist ORDER BY artist_id") == [
        (1, "Tina"), (2, "Miles")]


async def test_serial_columns_from_ensure_created_need_no_operation(
        linkgress_database: str) -> None:
    async with opened(Music, linkgress_database) as db:
        sm = db.get_schema_manager()
        created = await sm.ensure_created()
        assert [op.type for op in created].count("create_sequence") == 0
        await db.artist.insert(Artist(name="Tina"))
        await db.track.insert(Track(artist_id=1))
    assert await rows(linkgress_database, """
        SELECT c.relname, d.refobjsubid > 0 FROM pg_class c
          JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'a'
         WHERE c.relkind = 'S' ORDER BY 1""") == [
        ("artist_artist_id_seq", True), ("track_position_seq", True),
        ("track_track_id_seq", True)]
    assert await rows(linkgress_database, "SELECT track_id, position FROM track") == [(1, 1)]
    await _assert_adopted(linkgress_database)


async def test_serial_written_by_hand_is_adopted(linkgress_database: str) -> None:
    await execute(linkgress_database, """
        CREATE TABLE artist (artist_id SERIAL PRIMARY KEY, name text NOT NULL);
        INSERT INTO artist (name) VALUES ('Tina');
        CREATE TABLE track (track_id BIGSERIAL PRIMARY KEY,
                            artist_id integer NOT NULL REFERENCES artist,
                            position SMALLSERIAL)""")
    await _assert_adopted(linkgress_database)


async def test_serial_written_the_pg_dump_way_is_adopted(linkgress_database: str) -> None:
    await execute(linkgress_database, """
        CREATE TABLE public.artist (artist_id integer NOT NULL, name text NOT NULL);
        CREATE SEQUENCE public.artist_artist_id_seq AS integer START WITH 1 INCREMENT BY 1
            NO MINVALUE NO MAXVALUE CACHE 1;
        ALTER SEQUENCE public.artist_artist_id_seq OWNED BY public.artist.artist_id;
        ALTER TABLE ONLY public.artist ALTER COLUMN artist_id
            SET DEFAULT nextval('public.artist_artist_id_seq'::regclass);
        ALTER TABLE ONLY public.artist ADD CONSTRAINT artist_pkey PRIMARY KEY (artist_id);
        INSERT INTO public.artist (name) VALUES ('Tina');
        CREATE SEQUENCE public.track_track_id_seq;
        CREATE SEQUENCE public.track_position_seq AS smallint;
        CREATE TABLE public.track (
            track_id bigint DEFAULT nextval('public.track_track_id_seq'::regclass) NOT NULL,
            artist_id integer NOT NULL,
            position smallint DEFAULT nextval('public.track_position_seq'::regclass) NOT NULL);
        ALTER SEQUENCE public.track_track_id_seq OWNED BY public.track.track_id;
        ALTER SEQUENCE public.track_position_seq OWNED BY public.track.position;
        ALTER TABLE ONLY public.track ADD CONSTRAINT track_pkey PRIMARY KEY (track_id);
        ALTER TABLE ONLY public.track ADD CONSTRAINT track_artist_id_fkey
            FOREIGN KEY (artist_id) REFERENCES public.artist(artist_id)""")
    await _assert_adopted(linkgress_database)


async def test_a_sequence_not_owned_by_its_column_is_not_serial(linkgress_database: str) -> None:
    await execute(linkgress_database, """
        CREATE SEQUENCE loose_seq;
        CREATE TABLE artist (artist_id integer PRIMARY KEY DEFAULT nextval('loose_seq'),
                             name text NOT NULL)""")
    async with opened(Music, linkgress_database) as db:
        result = await db.get_schema_manager().analyze_full()
    assert "Alter column 'artist.artist_id'" not in [op.describe() for op in result.operations]
    assert any("artist.artist_id" in n and "serial" in n for n in result.notes)


# -- bug 4: DEFERRABLE foreign keys -------------------------------------------------------------


class Author(Entity):
    id: int
    name: str = column(text())


class Book(Entity):
    id: int
    author_id: int = column(references=Author, deferrable=True, initially_deferred=True)


class BookCascade(Entity):
    id: int
    author_id: int = column(references=Author, on_delete="cascade", deferrable=True,
                            initially_deferred=True)


class BookPlain(Entity):
    id: int
    author_id: int = column(references=Author)


class Library(DbContext):
    author = DbContext.table(Author)
    book = DbContext.table(Book)


class LibraryCascade(DbContext):
    author = DbContext.table(Author)
    book = DbContext.table(BookCascade)


class LibraryPlain(DbContext):
    author = DbContext.table(Author)
    book = DbContext.table(BookPlain)


FK_TIMING = """
SELECT conname, condeferrable, condeferred, confdeltype::text FROM pg_constraint
 WHERE contype = 'f' AND conrelid = 'book'::regclass"""

FRAMEWORK_SQL = """
CREATE TABLE author (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE book (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                   author_id integer NOT NULL);
ALTER TABLE book ADD CONSTRAINT book_author_id_fkey FOREIGN KEY (author_id)
    REFERENCES author (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO author (name) VALUES ('Ann');
INSERT INTO book (author_id) VALUES (1)"""


async def test_a_deferrable_foreign_key_is_created_and_adopted(linkgress_database: str) -> None:
    async with opened(Library, linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
        assert await db.get_schema_manager().analyze() == []
    assert await rows(linkgress_database, FK_TIMING) == [
        ("book_author_id_fkey", True, True, "a")]


async def test_a_framework_made_deferrable_fk_is_adopted(linkgress_database: str) -> None:
    await execute(linkgress_database, FRAMEWORK_SQL)
    async with opened(Library, linkgress_database) as db:
        assert await db.get_schema_manager().analyze() == []


async def test_changing_on_delete_keeps_the_modelled_deferrability(
        linkgress_database: str) -> None:
    await execute(linkgress_database, FRAMEWORK_SQL)
    async with opened(Library, linkgress_database) as db:
        await db.get_schema_manager().migrate()  # adopt: records what linkgress manages
    async with opened(LibraryCascade, linkgress_database) as db:
        applied = await db.get_schema_manager().migrate(allow_destructive=True)
        assert [op.type for op in applied] == ["drop_foreign_key", "create_foreign_key"]
        assert await db.get_schema_manager().analyze() == []
    assert await rows(linkgress_database, FK_TIMING) == [
        ("book_author_id_fkey", True, True, "c")]
    assert await rows(linkgress_database, "SELECT author_id FROM book") == [(1,)]


async def test_a_deferrable_fk_against_a_plain_model_fk_is_a_change(
        linkgress_database: str) -> None:
    await execute(linkgress_database, FRAMEWORK_SQL)
    async with opened(LibraryPlain, linkgress_database) as db:
        ops = await db.get_schema_manager().analyze()
        assert [op.type for op in ops] == ["drop_foreign_key", "create_foreign_key"]
        await db.get_schema_manager().migrate(allow_destructive=True)
        assert await db.get_schema_manager().analyze() == []
    assert await rows(linkgress_database, FK_TIMING) == [
        ("book_author_id_fkey", False, False, "a")]


# -- bug 6: ensure_deleted cascades and reports --------------------------------------------------


async def test_ensure_deleted_cascades_and_reports_what_it_was_not_managing(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    async with opened(Library, linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
    await execute(linkgress_database, """
        CREATE TABLE review (id int PRIMARY KEY, book_id int REFERENCES book);
        CREATE VIEW book_names AS SELECT b.id, a.name FROM book b JOIN author a
            ON a.id = b.author_id;
        CREATE VIEW first_names AS SELECT name FROM book_names;
        CREATE VIEW unrelated AS SELECT 1 AS one""")
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(Library, linkgress_database) as db:
        with pytest.raises(MigrationError, match=r"cascade=False\) refused: .*view book_names"):
            await db.get_schema_manager().ensure_deleted(cascade=False)
        assert await rows(linkgress_database, "SELECT count(*) FROM first_names") == [(0,)]
        dropped = await db.get_schema_manager().ensure_deleted()
    assert dropped.cascaded == [
        "constraint review_book_id_fkey on table review", "view book_names", "view first_names"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("was dropped with CASCADE" in m for m in warnings) == 3
    assert await rows(linkgress_database, """
        SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
           AND relkind IN ('r', 'v') ORDER BY 1""") == [("review",), ("unrelated",)]


async def test_ensure_deleted_without_dependents_uses_no_cascade(linkgress_database: str) -> None:
    async with opened(Library, linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
        dropped = await db.get_schema_manager().ensure_deleted()
    assert dropped.cascaded == []
    assert not any("CASCADE" in op.describe() for op in dropped)


# -- bug 1: indexes on a partitioned table never take a DBA's partition index -------------------


class Payment(Entity):
    payment_id: int = column(integer(), primary_key=True)
    customer_id: int = column(integer())
    paid_on: dt.date = column(date(), primary_key=True)


class Billing(DbContext):
    payment = DbContext.table(Payment)


class BillingIndexed(Billing):
    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Payment).has_index("ix_payment_customer_id", "customer_id")


PARTITIONED_SQL = """
CREATE TABLE payment (payment_id integer NOT NULL, customer_id integer NOT NULL,
                      paid_on date NOT NULL, CONSTRAINT payment_pkey
                      PRIMARY KEY (payment_id, paid_on)) PARTITION BY RANGE (paid_on);
CREATE TABLE payment_2022 PARTITION OF payment
    FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE payment_2023 PARTITION OF payment
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') PARTITION BY RANGE (paid_on);
CREATE TABLE payment_2023_h1 PARTITION OF payment_2023
    FOR VALUES FROM ('2023-01-01') TO ('2023-07-01');
CREATE TABLE payment_2023_h2 PARTITION OF payment_2023
    FOR VALUES FROM ('2023-07-01') TO ('2024-01-01');
CREATE INDEX dba_idx ON payment_2022 (customer_id);
INSERT INTO payment VALUES (1, 7, '2022-03-01'), (2, 8, '2023-09-01')"""

INDEXES = """
SELECT c.relname, coalesce(p.relname, '-') FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_inherits h ON h.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = h.inhparent
 WHERE c.relname NOT LIKE '%pkey' AND c.relnamespace = 'public'::regnamespace ORDER BY 1"""


async def test_an_index_on_a_partitioned_table_never_takes_a_dba_index(
        linkgress_database: str) -> None:
    await execute(linkgress_database, PARTITIONED_SQL)
    async with opened(Billing, linkgress_database) as db:
        assert await db.get_schema_manager().migrate() == []
    async with opened(BillingIndexed, linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.describe() for op in await sm.migrate()] == [
            "Create index 'ix_payment_customer_id'"]
        assert await sm.analyze() == []
    assert await rows(linkgress_database, INDEXES) == [
        ("dba_idx", "-"),
        ("ix_payment_customer_id", "-"),
        ("payment_2022_ix_payment_customer_id", "ix_payment_customer_id"),
        ("payment_2023_h1_ix_payment_customer_id", "payment_2023_ix_payment_customer_id"),
        ("payment_2023_h2_ix_payment_customer_id", "payment_2023_ix_payment_customer_id"),
        ("payment_2023_ix_payment_customer_id", "ix_payment_customer_id")]
    assert await rows(linkgress_database, """
        SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_payment_customer_id'::regclass
        """) == [(True,)]
    async with opened(Billing, linkgress_database) as db:
        await db.get_schema_manager().forget_history()  # a deliberate rollback to Billing
        assert [op.type for op in await db.get_schema_manager().migrate(
            allow_destructive=True)] == ["drop_index"]
    assert await rows(linkgress_database, INDEXES) == [("dba_idx", "-")]
    assert await rows(linkgress_database, "SELECT count(*) FROM payment") == [(2,)]


async def test_a_drop_that_would_take_an_attached_dba_index_is_refused_with_a_note(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await execute(linkgress_database, PARTITIONED_SQL + """;
        CREATE INDEX ix_payment_customer_id ON payment (customer_id)""")  # attaches dba_idx
    async with opened(BillingIndexed, linkgress_database) as db:
        assert await db.get_schema_manager().migrate() == []  # adopted: now managed
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(Billing, linkgress_database) as db:
        sm = db.get_schema_manager()
        result = await sm.analyze_full()
        assert result.operations == []
        (note,) = [n for n in result.notes if "left as it is" in n]
        assert "public.dba_idx (on payment_2022)" in note
        assert await sm.migrate(allow_destructive=True) == []
    assert any("public.dba_idx (on payment_2022)" in r.getMessage() for r in caplog.records)
    assert ("dba_idx", "ix_payment_customer_id") in await rows(linkgress_database, INDEXES)
