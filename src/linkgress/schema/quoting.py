"""The one place where identifiers and literals become SQL text.

Every identifier linkgress renders goes through :func:`quote_ident`, every literal through
:func:`quote_literal`. Values in queries are never rendered at all: they are bind parameters.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Return ``name`` as a double-quoted identifier, doubling embedded quotes.

    Always quoting keeps case and makes reserved words (``select``) and odd characters safe.
    """
    if "\x00" in name:
        raise ValueError(f"identifier contains a NUL byte: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(schema: str | None, name: str) -> str:
    """Return ``"schema"."name"`` (or just ``"name"`` when schema is None)."""
    if schema is None:
        return quote_ident(name)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def quote_literal(value: str) -> str:
    """Return ``value`` as a SQL string literal.

    Quotes are doubled; a value containing a backslash uses the ``E''`` form with backslashes
    doubled, so the result is correct whatever ``standard_conforming_strings`` says.
    """
    if "\x00" in value:
        raise ValueError(f"string literal contains a NUL byte: {value!r}")
    escaped = value.replace("'", "''")
    if "\\" in escaped:
        return "E'" + escaped.replace("\\", "\\\\") + "'"
    return "'" + escaped + "'"
