"""Row-tuple builders for bulk writes: a batch of entities (or dicts) turned into the value
tuples ``COPY`` and multi-row ``INSERT`` send, by one generated Python function per shape.

:func:`tuple_builder` generates, once per (row class, columns), a function that reads every
row's values by name and converts them with the columns' encoders
(:mod:`linkgress.query.convert`) in one list comprehension: no per-row reflection, no call per
row beyond the encoders. It only handles the uniform case — every row of exactly that class,
setting exactly those columns — and answers None as soon as a row differs, so that the caller
can fall back to grouping rows one by one (:func:`linkgress.query.writeplan.group_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from linkgress.query.convert import Converter

__all__ = ["RowTuples", "tuple_builder"]

#: ``rows -> value tuples`` of the longest leading run of rows of the builder's shape.
RowTuples = Callable[[Sequence[Any]], list[tuple[Any, ...]]]


# ``d`` is the row's name -> value mapping: the instance __dict__, or the dict itself.
_SOURCE = """\
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
    namespace: dict[str, Any] = {"_Class": row_class}
    items = []
    for attr in attrs:
        read = f"d[{attr!r}]"
        if attr in encoders:
            name = f"_e{len(namespace)}"
            namespace[name] = encoders[attr]
            read = f"{name}({read})"
        items.append(read)
    source = _SOURCE.format(mapping="r" if row_class is dict else "r.__dict__",
                            count=len(attrs), values="(" + "".join(f"{i}, " for i in items) + ")")
    exec(compile(source, f"<linkgress row tuples {row_class.__name__}>", "exec"), namespace)
    build: RowTuples = namespace["build"]
    return build
