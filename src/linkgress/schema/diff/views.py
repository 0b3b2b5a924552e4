"""Views and materialized views: create the model's new ones, replace changed ones, drop
managed ones the model no longer declares; unmanaged views are left alone (a note).

Both sides' queries are PostgreSQL's printing (``pg_get_viewdef``; see
:mod:`linkgress.schema.introspect.views`), so a view is unchanged exactly when its kind and
printed query are equal. A changed plain view is replaced in place (``CREATE OR REPLACE
VIEW``) when its new columns keep the old ones, names and types, as a prefix — what PostgreSQL
allows; otherwise, and always for a materialized view, it is dropped and created again (a
materialized view is filled again by its creation).

Views that read what a migration changes (a retyped or dropped column, a dropped table, a view
dropped and created again) are handled after the diff, with the database's dependencies:
:mod:`linkgress.schema.view_dependents`. :func:`order_views` puts the view operations of a
plan in an order PostgreSQL accepts.
"""

from __future__ import annotations

from collections.abc import Iterable

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.snapshot import Schema, View


def kind(view: View) -> str:
    """``view`` or ``materialized view`` (for messages)."""
    return "materialized view" if view.materialized else "view"


def replaceable(old: View, new: View) -> bool:
    """True when ``CREATE OR REPLACE VIEW`` can turn ``old`` into ``new``: two plain views,
    the new columns known and starting with the old ones (same names, same types)."""
    if old.materialized or new.materialized or not new.columns or not old.columns:
        return False
    return new.columns[:len(old.columns)] == old.columns


def refill_note(view: View) -> str:
    """The note for a materialized view dropped and created again."""
    return (f"materialized view '{view.qualified_name}' is dropped and created again: its "
            "rows are computed anew by the migration (as REFRESH MATERIALIZED VIEW would)")


def change_view(old: View, new: View) -> list[ops.Operation]:
    """Replace ``old`` by ``new`` in place when PostgreSQL allows it, else drop and create."""
    if replaceable(old, new):
        return [ops.CreateView(view=new, replace=True)]
    return [ops.DropView(view=old), ops.CreateView(view=new)]


def diff_views(ctx: DiffContext, current: Schema, target: Schema) -> list[ops.Operation]:
    """Operations for the views (unordered among other kinds: see :func:`order_views`)."""
    existing = {v.key: v for v in current.views}
    out: list[ops.Operation] = []
    for view in target.views:
        old = existing.get(view.key)
        if old is None:
            out.append(ops.CreateView(view=view))
        elif old != view:
            out += change_view(old, view)
            if old.materialized:
                ctx.notes.append(refill_note(old))
    declared = {v.key for v in target.views}
    for old in current.views:
        if old.key in declared:
            continue
        if ctx.may_drop_type("views", old.schema, old.name):
            out.append(ops.DropView(view=old))
        else:
            ctx.unmanaged(kind(old), label(old.schema, old.name))
    return out


def is_rebuild(op: ops.Operation, plan: list[ops.Operation]) -> bool:
    """True when ``op`` drops or creates a view that ``plan`` both drops and creates (a view
    rebuilt around another change: it goes with that change, e.g. in ``contract()``)."""
    if not isinstance(op, ops.DropView | ops.CreateView):
        return False
    dropped = any(isinstance(o, ops.DropView) and o.view.key == op.view.key for o in plan)
    return dropped and any(isinstance(o, ops.CreateView) and o.view.key == op.view.key
                           for o in plan)


def drop_order(views: Iterable[View]) -> list[View]:
    """``views`` ordered so that each comes before every view of the set it reads
    (``depends_on``): the order to drop them in. Stable otherwise."""
    pending = list(views)
    names = {v.qualified_name for v in pending}
    # A view may go once no other pending view reads it.
    out: list[View] = []
    while pending:
        readers = {d for v in pending for d in v.depends_on if d in names}
        ready = [v for v in pending if v.qualified_name not in readers] or pending[:1]
        out += ready
        gone = {v.qualified_name for v in ready}
        pending = [v for v in pending if v.qualified_name not in gone]
        names -= gone
    return out


def order_views(operations: list[ops.Operation], target: Schema) -> list[ops.Operation]:
    """``operations`` with the view drops in :func:`drop_order` and the view creations in the
    model's creation order, each kind keeping the slots it had."""
    drops = [op for op in operations if isinstance(op, ops.DropView)]
    creates = [op for op in operations if isinstance(op, ops.CreateView)]
    position = {v.key: n for n, v in enumerate(target.views)}
    by_key = {op.view.key: op for op in drops}
    drops_iter = iter([by_key[v.key] for v in drop_order(op.view for op in drops)])
    creates_iter = iter(sorted(creates, key=lambda op: position.get(op.view.key, len(position))))
    out: list[ops.Operation] = []
    for op in operations:
        if isinstance(op, ops.DropView):
            out.append(next(drops_iter))
        elif isinstance(op, ops.CreateView):
            out.append(next(creates_iter))
        else:
            out.append(op)
    return out
