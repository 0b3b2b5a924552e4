"""Full-text search: ``p.search.matches("orm & python", config="english")`` on a ``tsvector``
column (``search @@ to_tsquery('english', $1)``) or on a text column
(``to_tsvector('english', title) @@ to_tsquery('english', $1)``).

``mode`` picks the query parser: ``"tsquery"`` (``to_tsquery``: ``&``, ``|``, ``!``, ``<->``;
a malformed query is an error from the server), ``"plain"`` (``plainto_tsquery``: every word),
``"phrase"`` (``phraseto_tsquery``) or ``"web"`` (``websearch_to_tsquery``: quotes, ``or``,
``-word``; never an error). The query and the configuration are bind parameters. Rank with
``func.ts_rank(p.search, func.to_tsquery("english", q))``.
"""

from __future__ import annotations

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import BinaryOp, Expr, Func, Param
from linkgress.query.extensions import extension

__all__ = ["PARSERS", "matches", "tsquery"]

#: The SQL function of each ``mode``.
PARSERS = {"tsquery": "to_tsquery", "plain": "plainto_tsquery", "phrase": "phraseto_tsquery",
           "web": "websearch_to_tsquery"}


def _config(config: str | None) -> tuple[Expr, ...]:
    if config is None:
        return ()
    if not isinstance(config, str):
        raise QueryBuildError(f"config must be a text search configuration name such as "
                              f"'english', got {config!r}")
    return (Param(config, "regconfig"),)


def tsquery(query: str, config: str | None = None, mode: str = "tsquery") -> Func:
    """``to_tsquery([config,] query)`` (or the parser of ``mode``) with both values bound."""
    if not isinstance(query, str):
        raise QueryBuildError(f"a text search query is a str, got {query!r}")
    parser = PARSERS.get(mode)
    if parser is None:
        raise QueryBuildError(f"mode must be one of {', '.join(PARSERS)}, got {mode!r}")
    return Func(parser, (*_config(config), Param(query, "text")), "tsquery")


@extension("matches", "tsvector", "text")
def matches(expr: Expr, query: str, config: str | None = None, mode: str = "tsquery") -> Expr:
    """``@@``: the document (a ``tsvector`` column, or text turned into one with
    ``to_tsvector(config, text)``) matches ``query``."""
    document = expr
    if expr.category == "text":
        document = Func("to_tsvector", (*_config(config), expr), "tsvector")
    return BinaryOp("@@", document, tsquery(query, config, mode), "bool")
