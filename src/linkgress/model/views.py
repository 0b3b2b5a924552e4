"""Building the model's views (``model.has_view(...)``): names checked, the query tidied,
``depends_on`` resolved and the views put in an order PostgreSQL can create them in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from linkgress.errors import ModelError
from linkgress.model.naming import check_identifier, check_text
from linkgress.schema.snapshot import View


def view_query(sql: str) -> str:
    """The query of a view as it is stored and compared: without surrounding whitespace and
    trailing semicolons (``pg_get_viewdef`` ends its printing with one)."""
    return sql.strip().rstrip(";").rstrip()


def _checked(view: View, default_schema: str) -> View:
    what = f"view {view.name}"
    check_identifier(view.name, what="view", entity=what)
    schema = check_identifier(view.schema or default_schema, what="view schema", entity=what)
    check_text(view.definition, what="view query", entity=what)
    query = view_query(view.definition)
    if not query:
        raise ModelError("the view's query is empty", entity=what)
    depends = tuple(d if "." in d else f"{schema}.{d}" for d in view.depends_on)
    return replace(view, schema=schema, definition=query, depends_on=depends)


def _in_creation_order(views: list[View]) -> list[View]:
    """Declaration order, each view after those it ``depends_on`` (a cycle is an error)."""
    by_name = {v.qualified_name: v for v in views}
    done: dict[str, View] = {}

    def visit(view: View, path: tuple[str, ...]) -> None:
        if view.qualified_name in done:
            return
        if view.qualified_name in path:
            cycle = " -> ".join((*path, view.qualified_name))
            raise ModelError(f"views depend on each other in a cycle: {cycle}",
                             entity=f"view {view.name}")
        for name in view.depends_on:
            if name not in by_name:
                raise ModelError(f"depends_on names {name!r}, which is not a view of the model",
                                 entity=f"view {view.name}")
            visit(by_name[name], (*path, view.qualified_name))
        done[view.qualified_name] = view

    for view in views:
        visit(view, ())
    return list(done.values())


def build_views(views: Iterable[View], default_schema: str,
                relations: Iterable[tuple[str, str]]) -> tuple[View, ...]:
    """The model's views, checked and in creation order. ``relations`` are the ``(schema,
    name)`` of the model's tables and indexes: a view may not take one of their names."""
    taken = set(relations)
    out: list[View] = []
    for view in (_checked(v, default_schema) for v in views):
        if view.key in taken:
            raise ModelError(f"name {view.name!r} is already used by a table, index, sequence "
                             f"or view in schema {view.schema!r}", entity=f"view {view.name}")
        taken.add(view.key)
        out.append(view)
    return tuple(_in_creation_order(out))
