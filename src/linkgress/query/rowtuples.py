"""Row-tuple builders for bulk writes: a batch of entities (or dicts) turned into the value
tuples ``COPY`` and multi-row ``INSERT`` send, by Python functions generated once per shape.

A shape is a row class (an entity class, or ``dict``) and the columns a row sets. For it,
:func:`tuple_builder` generates a function building the list of every row's value tuple, and
:func:`tuple_stream` a generator yielding them one by one (``COPY`` then encodes each tuple
while it is fresh, and no list of 10,000 tuples is kept: less work for the garbage collector).
Both read values by name from the instance ``__dict__`` (or the dict) and convert them with the
columns' encoders (:mod:`linkgress.query.convert`): no per-row reflection, no call per row
beyond the encoders. They stop at the first row not of exactly their shape: the caller takes
the rest by grouping rows one by one (:func:`linkgress.query.writeplan.group_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from linkgress.query.convert import Converter

__all__ = ["RowTuples", "TupleStream", "tuple_builder", "tuple_stream"]

#: ``rows -> value tuples`` of the longest leading run of rows of the builder's shape.
RowTuples = Callable[[Sequence[Any]], list[tuple[Any, ...]]]
#: ``rows -> value tuples, one at a time``, of the longest leading run of rows of its shape.
TupleStream = Callable[[Sequence[Any]], Iterator[tuple[Any, ...]]]


# ``d`` is the row's name -> value mapping: the instance __dict__, or the dict itself.
_BUILD = """\
def build(rows):
    out = []
    append = out.append
    try:
        for r in rows:
            if r.__class__ is not _Class:
                break
            d = {mapping}
            if len(d) != {count}:
                break
            append({values})
    except KeyError:  # a row setting other names (or an encoder's KeyError)
        pass
    return out
"""

_STREAM = """\
def stream(rows):
    for r in rows:
        if r.__class__ is not _Class:
            return
        d = {mapping}
        if len(d) != {count}:
            return
        try:
            row = {values}
        except Exception:  # a row setting other names, or a value an encoder rejects
            return
        yield row
"""


def tuple_builder(row_class: type[Any], attrs: Sequence[str],
                  encoders: Mapping[str, Converter]) -> RowTuples:
    """A function turning a sequence of rows into their ``attrs`` values, as tuples.

    A row fits when it is exactly of ``row_class`` (no subclass) and sets exactly the names
    in ``attrs``: an entity's instance ``__dict__`` holds those and nothing else, or a
    ``dict`` (when ``row_class`` is ``dict``) has those keys. Values with an encoder in
    ``encoders`` are converted. The function stops at the first row that does not fit and
    returns the tuples of the rows before it (the caller takes the general path from there,
    which reports any error of that row); an encoder's error other than ``KeyError``
    propagates, raised at the same row as the general path would.
    """
    build: RowTuples = _generate(_BUILD, "build", row_class, attrs, encoders)
    return build


def tuple_stream(row_class: type[Any], attrs: Sequence[str],
                 encoders: Mapping[str, Converter]) -> TupleStream:
    """A generator function yielding the ``attrs`` values of each row, as a tuple; it stops
    before the first row that does not fit (see :func:`tuple_builder`) or whose value an
    encoder rejects (the general path then reports that error)."""
    stream: TupleStream = _generate(_STREAM, "stream", row_class, attrs, encoders)
    return stream


def _generate(template: str, name: str, row_class: type[Any], attrs: Sequence[str],
              encoders: Mapping[str, Converter]) -> Any:
    namespace: dict[str, Any] = {"_Class": row_class}
    items = []
    for attr in attrs:
        read = f"d[{attr!r}]"
        if attr in encoders:
            local = f"_e{len(namespace)}"
            namespace[local] = encoders[attr]
            read = f"{local}({read})"
        items.append(read)
    source = template.format(mapping="r" if row_class is dict else "r.__dict__",
                             count=len(attrs), values="(" + "".join(f"{i}, " for i in items) + ")")
    # Names are repr() literals; objects go in by reference, through the namespace.
    exec(compile(source, f"<linkgress row tuples {row_class.__name__}>", "exec"), namespace)
    return namespace[name]
