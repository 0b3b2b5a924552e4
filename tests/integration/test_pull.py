"""``linkgress db pull`` on databases other tools made: the written model describes the database
exactly (``analyze() == []``), reads its rows, and passes ruff; and for any table linkgress can
create, pulling it back gives a model with nothing to change (property, hypothesis)."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from linkgress import DbModelConfig, PgClient
from linkgress.schema.introspect import introspect
from linkgress.schema.pull import render_model
from linkgress.schema.quoting import quote_ident
from linkgress.testing import run_async
from tests.integration.cli_support import Cli
from tests.integration.migrate_support import context, entity, execute, rows
from tests.integration.test_introspect_property import columns

EXAMPLES = 100 if os.environ.get("CI") else 20

# Written as pg_dump and other tools write it: SERIAL and pg_dump's sequence form, an enum whose
# labels are not identifiers, arrays, a composite key and foreign key, deferrable foreign keys
# with their own names, named and multi-column uniques, checks, partial, expression and GIN
# indexes, a keyword and a spaced column name, a table named like a context attribute, a
# second schema, comments.
SCHEMA_SQL = """
CREATE TYPE public.mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE SEQUENCE public.film_film_id_seq START 1 INCREMENT 1;
CREATE TABLE public.language (
    language_id serial PRIMARY KEY,
    name character(20) NOT NULL,
    last_update timestamp with time zone DEFAULT now() NOT NULL);
CREATE TABLE public.film (
    film_id integer DEFAULT nextval('public.film_film_id_seq'::regclass) NOT NULL,
    title text NOT NULL,
    "class" text,
    "Box Office" numeric(12,2) DEFAULT 0.00,
    rating public.mpaa_rating DEFAULT 'G'::public.mpaa_rating,
    special_features text[],
    language_id integer NOT NULL,
    fulltext tsvector,
    CONSTRAINT film_pkey PRIMARY KEY (film_id),
    CONSTRAINT film_title_check CHECK (length(title) > 0));
ALTER SEQUENCE public.film_film_id_seq OWNED BY public.film.film_id;
ALTER TABLE ONLY public.film ADD CONSTRAINT film_language_id_fkey FOREIGN KEY (language_id)
    REFERENCES public.language(language_id) ON UPDATE CASCADE ON DELETE RESTRICT
    DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX idx_title ON public.film USING btree (title);
CREATE INDEX film_fulltext_idx ON public.film USING gin (fulltext);
CREATE INDEX idx_lower_title ON public.film USING btree (lower(title)) WHERE ("class" IS NULL);
CREATE TABLE public.actor (actor_id serial PRIMARY KEY, first_name text NOT NULL);
CREATE TABLE public.film_actor (
    actor_id integer NOT NULL REFERENCES public.actor(actor_id),
    film_id integer NOT NULL REFERENCES public.film(film_id),
    CONSTRAINT film_actor_pkey PRIMARY KEY (actor_id, film_id));
CREATE TABLE public.credit (
    actor_id integer NOT NULL,
    film_id integer NOT NULL,
    "order" smallint,
    CONSTRAINT credit_uniq UNIQUE (film_id, "order"),
    CONSTRAINT credit_actor_film_fk FOREIGN KEY (actor_id, film_id)
        REFERENCES public.film_actor(actor_id, film_id) ON DELETE CASCADE);
ALTER TABLE public.credit ADD CONSTRAINT credit_pk PRIMARY KEY (actor_id, film_id);
CREATE TABLE public.transaction (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                 amount numeric(5,2) NOT NULL,
                                 tags integer[] DEFAULT '{}'::integer[] NOT NULL);
COMMENT ON TABLE public.actor IS 'people in "films"';
COMMENT ON COLUMN public.actor.first_name IS 'given name';
CREATE DOMAIN public.year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
ALTER TABLE public.film ADD COLUMN release_year public.year;
ALTER TABLE public.film ADD COLUMN title_length integer GENERATED ALWAYS AS (length(title)) STORED;
CREATE INDEX idx_title_pattern ON public.film USING btree (title text_pattern_ops DESC NULLS LAST)
    INCLUDE (rating);
ALTER TABLE public.actor ADD CONSTRAINT actor_first_name_key UNIQUE (first_name)
    DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE public.payment (
    payment_id integer NOT NULL,
    paid_at date NOT NULL,
    amount numeric(5,2) NOT NULL,
    CONSTRAINT payment_pkey PRIMARY KEY (paid_at, payment_id)) PARTITION BY RANGE (paid_at);
CREATE TABLE public.payment_2024 (payment_id integer NOT NULL, paid_at date NOT NULL,
                                  amount numeric(5,2) NOT NULL);
ALTER TABLE public.payment ATTACH PARTITION public.payment_2024
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.payment_rest PARTITION OF public.payment DEFAULT;
CREATE VIEW public.film_titles AS SELECT film_id, title FROM public.film WHERE "class" IS NULL;
CREATE VIEW public.film_title_count AS SELECT count(*) AS n FROM public.film_titles;
CREATE MATERIALIZED VIEW public.rated AS SELECT rating, count(*) AS n FROM public.film
    GROUP BY rating;
CREATE SCHEMA audit;
CREATE TABLE audit.log (id serial PRIMARY KEY, at timestamp without time zone NOT NULL,
                        who text UNIQUE);
"""

DATA_SQL = """
INSERT INTO language (name) VALUES ('English');
INSERT INTO film (title, "class", rating, special_features, language_id)
    VALUES ('Alpha', NULL, 'PG-13', '{Trailers,"Deleted Scenes"}', 1),
           ('Beta', 'b', 'NC-17', NULL, 1);
INSERT INTO actor (first_name) VALUES ('Ann');
INSERT INTO film_actor VALUES (1, 1);
INSERT INTO credit VALUES (1, 1, 1);
INSERT INTO transaction (amount, tags) VALUES (9.99, '{1,2}');
INSERT INTO payment VALUES (1, '2024-05-01', 1.5), (2, '2026-05-01', 2.5);
"""


def _import(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the entities' annotations resolve through the module
    spec.loader.exec_module(module)
    return module


async def _adopted(dsn: str, module: types.ModuleType) -> None:
    db = module.Database(PgClient(dsn=dsn))
    try:
        manager = db.get_schema_manager(quiet=True)
        assert await manager.analyze() == []
        assert await manager.migrate() == []
        film = await db.film.where(lambda f: f.title == "Alpha").first()
        assert film.rating is module.MpaaRating.PG_13
        assert film.special_features == ["Trailers", "Deleted Scenes"]
        assert film.class_ is None
        assert await db.transaction_2.count() == 1
        assert await db.credit.count() == 1
        assert await db.payment.where(lambda p: p.amount > 2).count() == 1
        assert film.release_year is None and film.title_length == 5
    finally:
        await db.dispose()


def test_db_pull_writes_a_model_that_adopts_the_database(tmp_path: Path,
                                                         linkgress_database: str) -> None:
    run_async(execute, linkgress_database, SCHEMA_SQL)
    run_async(execute, linkgress_database, DATA_SQL)
    before = run_async(rows, linkgress_database, "SELECT title, rating::text FROM film "
                                                 "ORDER BY title")
    cli = Cli(tmp_path, linkgress_database)
    result = cli("db", "pull", "--schema", "public", "--schema", "audit", "-o", "models.py")
    assert result.returncode == 0, result.stderr
    assert "Wrote models.py: 8 table(s), 1 enum(s)" in result.stdout
    source = (tmp_path / "models.py").read_text()
    assert 'class_: str | None = column(text(), name="class")' in source
    assert 'Box_Office: Decimal | None = column(' in source
    for stated in ('model.has_domain("year", integer(), check=',
                   'release_year: int | None = column(pg_type("year"',
                   'generated="length(title)"',
                   'opclasses={"title": "text_pattern_ops"}', 'descending=["title"]',
                   'nulls={"title": "last"}', 'include=["rating"]',
                   'deferrable=True, initially_deferred=True',
                   'partition_by("range", "paid_at")',
                   """has_partition("payment_2024", "FROM ('2024-01-01') TO ('2025-01-01')")""",
                   'has_partition("payment_rest", default=True)',
                   'materialized=True'):
        assert stated in source, stated
    assert source.index('"film_titles"') < source.index('"film_title_count"')
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                           "--line-length", "100", "--select", "E,F,W,I,UP,B", "models.py"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout
    run_async(_adopted, linkgress_database, _import(tmp_path / "models.py", "pulled_models"))
    assert run_async(rows, linkgress_database, "SELECT title, rating::text FROM film "
                                               "ORDER BY title") == before
    again = cli("db", "pull", "-o", "models.py")
    assert again.returncode == 2 and "exists; pass --force" in again.stderr


def test_db_pull_prints_to_stdout_and_says_when_there_is_nothing(
        tmp_path: Path, linkgress_database: str) -> None:
    cli = Cli(tmp_path, linkgress_database)
    empty = cli("db", "pull")
    assert empty.returncode == 1 and "no tables or enums in schema(s) public" in empty.stderr
    run_async(execute, linkgress_database, "CREATE TABLE t (id serial PRIMARY KEY)")
    printed = cli("db", "pull", "--class-name", "Shop")
    assert printed.returncode == 0, printed.stderr
    assert "class Shop(DbContext):\n    t = DbContext.table(T)" in printed.stdout
    assert cli("db", "pull", "--class-name", "not valid").returncode == 2


_schemas = itertools.count()


async def _pull_back(dsn: str, cols: list[tuple[str, Any, Any]]) -> None:
    schema = f"pull {next(_schemas)}"
    first = quote_ident(cols[0][0])
    entity_class = entity("Random", {"id": int,
                                     **{f"f{i}": (a, c) for i, (_, a, c) in enumerate(cols)}})

    def setup(model: DbModelConfig) -> None:
        model.has_default_schema(schema)
        model.entity(entity_class).has_check("ck", f"{first} IS NOT NULL OR id > 0") \
            .has_index("ix", f"(({first} IS NULL))", "id", where=f"{first} IS DISTINCT FROM NULL")

    made = context({"random": entity_class}, setup)(PgClient(dsn=dsn))
    try:
        await made.get_schema_manager(quiet=True).ensure_created()
        source = render_model(await introspect(made.client, [schema]), default_schema=schema)
    finally:
        await made.dispose()
    module = types.ModuleType(f"pulled_{schema.replace(' ', '_')}")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, module.__name__, "exec"), module.__dict__)
        pulled = module.Database(PgClient(dsn=dsn))
        try:
            assert await pulled.get_schema_manager(quiet=True).analyze() == [], source
        finally:
            await pulled.dispose()
    finally:
        del sys.modules[module.__name__]


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cols=columns())
def test_any_created_table_pulls_back_as_a_model_with_nothing_to_change(
        linkgress_module_database: str, cols: list[tuple[str, Any, Any]]) -> None:
    run_async(_pull_back, linkgress_module_database, cols)
