"""Build a context's frozen :class:`ModelMeta` from its entities and ``setup_model`` settings.

Validation lives here, so an invalid model raises :class:`ModelError` (naming the entity and the
field) when the context is created, before anything touches a database.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from linkgress.errors import ModelError
from linkgress.model.entity import MISSING, ColumnInfo, Entity
from linkgress.model.fluent import DbModelConfig, EntitySettings, PropertySettings
from linkgress.model.index_options import index_options
from linkgress.model.inference import UnsupportedAnnotation, infer_type, split_optional
from linkgress.model.literals import sql_literal
from linkgress.model.meta import ColumnMeta, EntityMeta, EnumMeta, ModelMeta
from linkgress.model.naming import (
    MAX_IDENTIFIER_BYTES,
    check_identifier,
    check_text,
    find_column_info,
    generated_name,
)
from linkgress.model.partitioning import build_partitioning
from linkgress.model.relations import foreign_keys, navigations
from linkgress.model.tokens import concurrency_token
from linkgress.model.types import INTEGER_TYPES, ColumnType
from linkgress.model.views import build_views
from linkgress.schema.snapshot import (
    CheckConstraint,
    Domain,
    Index,
    Sequence,
    UniqueConstraint,
    canonical_index,
)

INDEX_METHODS = ("btree", "hash", "gist", "gin", "spgist", "brin")


def _is_navigation_hint(hint: Any) -> bool:
    inner, _ = split_optional(hint) if typing.get_origin(hint) is not None else (hint, False)
    if typing.get_origin(inner) in (list, tuple):
        args = typing.get_args(inner)
        inner = args[0] if args else inner
    return isinstance(inner, type) and issubclass(inner, Entity)


@dataclass
class _Builder:
    """State while one model is built; functions below are its steps."""

    config: DbModelConfig
    tables: Mapping[str, type[Any]]
    enums: dict[type[enum.Enum], EnumMeta]

    def enum_meta(self, cls: type[enum.Enum], *, entity: str, field: str) -> EnumMeta:
        if cls in self.enums:
            return self.enums[cls]
        settings = self.config.enums.get(cls)
        name = (settings.name if settings and settings.name else None) or infer_type(cls)[0].name
        schema = (settings.schema if settings and settings.schema else None) \
            or self.config.default_schema
        check_identifier(name, what="enum", entity=entity, field=field)
        check_identifier(schema, what="enum schema", entity=entity, field=field)
        values = tuple(str(m.value) for m in cls)
        if not values:
            raise ModelError(f"enum {cls.__name__} has no members", entity=entity, field=field)
        for label in values:
            _check_enum_label(label, cls, entity=entity, field=field)
        for other in self.enums.values():
            if (other.schema, other.name) == (schema, name):
                raise ModelError(f"enums {other.enum_class.__name__} and {cls.__name__} both map "
                                 f"to PostgreSQL type {schema}.{name}; name one with "
                                 "model.has_enum(...)", entity=entity, field=field)
        meta = EnumMeta(enum_class=cls, schema=schema, name=name, values=values)
        self.enums[cls] = meta
        return meta


def _check_enum_label(label: str, cls: type[enum.Enum], *, entity: str, field: str) -> None:
    if not label or len(label.encode()) > MAX_IDENTIFIER_BYTES:
        raise ModelError(f"enum {cls.__name__} label {label!r} must be 1 to 63 bytes long",
                         entity=entity, field=field)
    check_text(label, what=f"enum {cls.__name__} label", entity=entity, field=field)


def _resolve_hints(cls: type) -> dict[str, Any]:
    try:
        localns = dict(getattr(cls, "__linkgress_localns__", {}))
        localns.setdefault(cls.__name__, cls)
        return typing.get_type_hints(cls, localns=localns)
    except Exception as exc:
        raise ModelError(f"cannot resolve the annotations: {exc}", entity=cls.__name__) from exc


def _column_type(b: _Builder, cls: type, attr: str, hint: Any, info: ColumnInfo,
                 prop: PropertySettings) -> tuple[ColumnType, bool, type[enum.Enum] | None, Any]:
    entity = cls.__name__
    try:
        inner, nullable = split_optional(hint)
        explicit = prop.type or info.type
        enum_class: type[enum.Enum] | None = None
        if explicit is None or explicit.is_enum:
            inferred, enum_class = infer_type(inner)
        elif isinstance(inner, type) and issubclass(inner, enum.IntFlag):
            enum_class = inner  # flags in column(smallint()): still read back as flags
    except UnsupportedAnnotation as exc:
        if explicit is None:
            raise ModelError(str(exc), entity=entity, field=attr) from None
        inferred, enum_class = explicit, None
    ctype = explicit if explicit is not None else inferred
    if ctype.is_enum and enum_class is not None:
        meta = b.enum_meta(enum_class, entity=entity, field=attr)
        ctype = replace(ctype, name=meta.name, schema=meta.schema)
    elif ctype.is_enum and not ctype.schema:
        ctype = replace(ctype, schema=b.config.default_schema)
    if ctype.is_enum:
        check_identifier(ctype.name, what="enum type", entity=entity, field=attr)
        check_identifier(ctype.schema or "", what="enum type schema", entity=entity, field=attr)
    check_text(ctype.name, what="column type", entity=entity, field=attr)
    return ctype, nullable, enum_class, inner


def _column_default(ctype: ColumnType, info: ColumnInfo, prop: PropertySettings, *,
                    entity: str, field: str) -> tuple[Any, str | None]:
    """The Python default (or MISSING) and the SQL default; the fluent API wins."""
    py_default = prop.default if prop.default is not MISSING else (
        MISSING if prop.default_sql is not None else info.default)
    default_sql = prop.default_sql if prop.default_sql is not None else (
        None if prop.default is not MISSING else info.default_sql)
    if py_default is not MISSING and default_sql is not None:
        raise ModelError("give either default= or default_sql=, not both", entity=entity,
                         field=field)
    check_text(default_sql, what="default_sql", entity=entity, field=field)
    if py_default is MISSING:
        return py_default, default_sql
    try:
        return py_default, sql_literal(py_default, ctype)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"default {py_default!r} does not fit the column: {exc}",
                         entity=entity, field=field) from None


def _literal_type(config: DbModelConfig, ctype: ColumnType) -> ColumnType:
    """The type a Python default is written for: a model domain's base type for a column typed
    by that domain (``5`` fits ``positive_int`` over ``integer``), else the column's type."""
    if ctype.dims or ctype.is_enum or ctype.modifier is not None or ctype.params:
        return ctype
    schema = ctype.schema or config.default_schema
    for domain in config.domains:
        if (domain.name, domain.schema or config.default_schema) == (ctype.name, schema):
            return domain.base_type
    return ctype


def _column_identity(ctype: ColumnType, info: ColumnInfo, prop: PropertySettings, *,
                     entity: str, field: str) -> tuple[str | None, int | None, int | None]:
    """The identity kind and its sequence's start and increment (None where the default)."""
    identity: str | None = prop.identity or (
        "by default" if info.identity is True else (info.identity or None))
    if identity is not None and identity not in ("by default", "always"):
        raise ModelError(f"identity must be 'by default' or 'always', got {identity!r}",
                         entity=entity, field=field)
    if identity is not None and ctype.name not in INTEGER_TYPES:
        raise ModelError(f"an identity column must be an integer type, not {ctype.display}",
                         entity=entity, field=field)
    start, increment = info.identity_start, info.identity_increment
    for what, value in (("identity_start", start), ("identity_increment", increment)):
        if value is None:
            continue
        if identity is None:
            raise ModelError(f"{what} needs identity=", entity=entity, field=field)
        if isinstance(value, bool) or not isinstance(value, int) or value == 0:
            raise ModelError(f"{what} must be a non-zero integer, got {value!r}",
                             entity=entity, field=field)
    # PostgreSQL's defaults compare equal to "not given": increment 1, start 1 (or -1 going
    # down).
    increment = None if increment == 1 else increment
    start = None if start == (1 if (increment or 1) > 0 else -1) else start
    return identity, start, increment


def _column_generated(info: ColumnInfo, default: str | None, identity: str | None, *,
                      entity: str, field: str) -> str | None:
    for what, text in (("generated", info.generated), ("using", info.using)):
        check_text(text, what=what, entity=entity, field=field)
        if text is not None and not text.strip():
            raise ModelError(f"{what}= is empty", entity=entity, field=field)
    if info.generated is not None and (default is not None or identity is not None):
        raise ModelError("a generated column takes no default or identity", entity=entity,
                         field=field)
    return info.generated


def _build_column(b: _Builder, cls: type, attr: str, hint: Any,
                  settings: EntitySettings) -> ColumnMeta:
    entity = cls.__name__
    info = find_column_info(cls, attr)
    prop = settings.properties.get(attr, PropertySettings())
    ctype, nullable, enum_class, inner = _column_type(b, cls, attr, hint, info, prop)
    nullable = next(n for n in (prop.nullable, info.nullable, nullable) if n is not None)
    name = check_identifier(prop.column_name or info.name or attr, what="column",
                            entity=entity, field=attr)
    py_default, default = _column_default(_literal_type(b.config, ctype), info, prop,
                                          entity=entity, field=attr)
    identity, start, increment = _column_identity(ctype, info, prop, entity=entity, field=attr)
    generated = _column_generated(info, default, identity, entity=entity, field=attr)
    comment = prop.comment if prop.comment is not None else info.comment
    check_text(comment, what="column comment", entity=entity, field=attr)
    renamed_from = prop.renamed_from or info.renamed_from
    if renamed_from is not None:
        check_identifier(renamed_from, what="previous column", entity=entity, field=attr)
    _check_serial(ctype, identity, default, entity=entity, field=attr)
    return ColumnMeta(
        attr=attr, name=name, type=ctype, nullable=nullable, python_type=inner,
        primary_key=info.primary_key, identity=identity, default=default,
        python_default=None if py_default is MISSING else py_default,
        has_python_default=py_default is not MISSING, comment=comment,
        renamed_from=renamed_from, enum_class=enum_class, deprecated=info.deprecated,
        generated_as=generated, using=info.using, identity_start=start,
        identity_increment=increment)


def _check_serial(ctype: ColumnType, identity: str | None, default: str | None, *,
                  entity: str, field: str) -> None:
    if not ctype.serial:
        return
    if ctype.dims:
        raise ModelError("an array of serial is not a type; use array(integer())",
                         entity=entity, field=field)
    if identity is not None or default is not None:
        raise ModelError(f"a {ctype.display} column gets its values from its own sequence; "
                         "it takes no identity, default= or default_sql=",
                         entity=entity, field=field)


def _apply_primary_key(cls: type, settings: EntitySettings, columns: list[ColumnMeta],
                       table: str) -> tuple[list[ColumnMeta], tuple[str, ...], str | None]:
    entity = cls.__name__
    by_attr = {c.attr: c for c in columns}
    if settings.keyless:
        return columns, (), None
    if settings.key is not None:
        missing = [k for k in settings.key if k not in by_attr]
        if missing:
            raise ModelError(f"has_key names unknown attribute {missing[0]!r}", entity=entity,
                             field=missing[0])
        key_attrs = settings.key
    else:
        key_attrs = tuple(c.attr for c in columns if c.primary_key)
    if not key_attrs and "id" in by_attr:
        key_attrs = ("id",)
        conv = by_attr["id"]
        if (conv.type.name in INTEGER_TYPES and not conv.type.dims and conv.default is None
                and not conv.type.serial
                and find_column_info(cls, "id").identity is not False):
            by_attr["id"] = replace(conv, identity=conv.identity or "by default")
    if not key_attrs:
        raise ModelError("has no primary key: declare an `id: int` field, "
                         "column(primary_key=True), model.entity(...).has_key(...), or "
                         "has_no_key() for a keyless table", entity=entity)
    fixed = [replace(by_attr[c.attr], primary_key=c.attr in key_attrs,
                     nullable=False if c.attr in key_attrs else by_attr[c.attr].nullable)
             for c in columns]
    if settings.key_name is not None:
        check_identifier(settings.key_name, what="primary key", entity=entity)
    name = settings.key_name or generated_name(table, "pkey")
    return fixed, tuple(by_attr[a].name for a in key_attrs), name


def _table_indexes(cls: type, settings: EntitySettings, table: str,
                   by_attr: Mapping[str, ColumnMeta]) -> tuple[Index, ...]:
    entity = cls.__name__
    out = []
    for attr, col in by_attr.items():
        if find_column_info(cls, attr).index:
            out.append(Index(name=generated_name("ix", table, col.name), columns=(col.name,),
                             generated=True))
    for ix in settings.indexes:
        check_identifier(ix.name, what="index", entity=entity)
        method = (ix.method or "btree").lower()
        if method not in INDEX_METHODS:
            raise ModelError(f"index {ix.name!r} has unknown method {ix.method!r}; expected "
                             f"one of {', '.join(INDEX_METHODS)}", entity=entity)
        if not ix.members:
            raise ModelError(f"index {ix.name!r} has no columns", entity=entity)
        cols = []
        check_text(ix.where, what=f"index {ix.name!r} where=", entity=entity)
        for member in ix.members:
            if member.startswith("("):
                check_text(member, what=f"index {ix.name!r} expression", entity=entity)
                cols.append(member)
            elif member in by_attr:
                cols.append(by_attr[member].name)
            else:
                raise ModelError(f"index {ix.name!r} names unknown column {member!r}",
                                 entity=entity, field=member)
        out.append(canonical_index(Index(
            name=ix.name, columns=tuple(cols), unique=ix.unique, method=method, where=ix.where,
            nulls_not_distinct=ix.nulls_not_distinct, concurrently=ix.concurrently,
            **index_options(ix, {a: c.name for a, c in by_attr.items()}, entity=entity))))
    return tuple(out)


def _table_constraints(cls: type, settings: EntitySettings, table: str,
                       by_attr: Mapping[str, ColumnMeta]
                       ) -> tuple[tuple[UniqueConstraint, ...], tuple[CheckConstraint, ...]]:
    entity = cls.__name__
    uniques, checks = [], []
    for attr, col in by_attr.items():
        info = find_column_info(cls, attr)
        prop = settings.properties.get(attr)
        unique = prop.unique if prop is not None and prop.unique is not None else info.unique
        if unique and not col.primary_key:
            uniques.append(UniqueConstraint(name=generated_name(table, col.name, "key"),
                                            columns=(col.name,), generated=True))
        if info.check:
            check_text(info.check, what="check", entity=entity, field=attr)
            checks.append(CheckConstraint(name=generated_name(table, col.name, "check"),
                                          expression=info.check))
    for name, members in settings.uniques:
        check_identifier(name, what="constraint", entity=entity)
        for m in members:
            if m not in by_attr:
                raise ModelError(f"unique constraint {name!r} names unknown column {m!r}",
                                 entity=entity, field=m)
        uniques.append(UniqueConstraint(name=name, columns=tuple(by_attr[m].name
                                                                 for m in members),
                                        **settings.unique_options.get(name, {})))
    for name, expression in settings.checks:
        check_identifier(name, what="constraint", entity=entity)
        check_text(expression, what=f"check {name!r}", entity=entity)
        checks.append(CheckConstraint(name=name, expression=expression))
    return tuple(uniques), tuple(checks)


def _build_entity(b: _Builder, context_attr: str, cls: type) -> EntityMeta:
    entity = cls.__name__
    settings = b.config.entities.get(cls, EntitySettings())
    hints = _resolve_hints(cls)
    table = check_identifier(settings.table or context_attr, what="table", entity=entity)
    schema = check_identifier(settings.schema or b.config.default_schema, what="schema",
                              entity=entity)
    check_text(settings.comment, what="table comment", entity=entity)
    nav_names = {n.name for n in settings.navigations}
    columns: list[ColumnMeta] = []
    for attr in getattr(cls, "__linkgress_fields__", ()):
        if attr in settings.ignored or attr in nav_names or _is_navigation_hint(hints.get(attr)):
            continue
        columns.append(_build_column(b, cls, attr, hints[attr], settings))
    for attr in settings.properties:
        if attr not in {c.attr for c in columns}:
            raise ModelError("setup_model configures a property the entity does not declare",
                             entity=entity, field=attr)
    seen: dict[str, str] = {}
    for col in columns:
        if col.name in seen:
            raise ModelError(f"duplicate column name {col.name!r} (also used by "
                             f"{seen[col.name]!r})", entity=entity, field=col.attr)
        seen[col.name] = col.attr
    if not columns:
        raise ModelError("declares no columns", entity=entity)
    columns, pk, pk_name = _apply_primary_key(cls, settings, columns, table)
    columns, token = concurrency_token(cls, settings, columns)
    every = {c.attr: c for c in columns}  # constraints and indexes may name deprecated ones
    uniques, checks = _table_constraints(cls, settings, table, every)
    partition_by, partitions = build_partitioning(settings, every, pk, uniques, entity=entity)
    live, deprecated = _split_deprecated(cls, columns)
    return EntityMeta(
        entity=cls, context_attr=context_attr, schema=schema, table=table,
        columns=live, primary_key=pk, primary_key_name=pk_name, uniques=uniques,
        checks=checks, indexes=_table_indexes(cls, settings, table, every),
        comment=settings.comment, deprecated_columns=deprecated, partition_by=partition_by,
        partitions=partitions, concurrency_token=token,
        by_attr=MappingProxyType({c.attr: c for c in live}))


def _split_deprecated(cls: type, columns: list[ColumnMeta]
                      ) -> tuple[tuple[ColumnMeta, ...], tuple[ColumnMeta, ...]]:
    """(the columns the ORM reads and writes, the deprecated ones — made nullable unless the
    database can fill them, so that inserts without them work)."""
    for col in columns:
        if col.deprecated and col.primary_key:
            raise ModelError("a primary key column cannot be deprecated", entity=cls.__name__,
                             field=col.attr)
    deprecated = tuple(c if c.generated else replace(c, nullable=True)
                       for c in columns if c.deprecated)
    return tuple(c for c in columns if not c.deprecated), deprecated


def _check_relation_names(metas: list[EntityMeta]) -> None:
    """Tables, indexes and key constraints share one namespace per schema in PostgreSQL."""
    seen: dict[tuple[str, str], str] = {}
    for meta in metas:
        names = [(meta.table, "table")]
        if meta.primary_key_name:
            names.append((meta.primary_key_name, "primary key"))
        names += [(u.name, "unique constraint") for u in meta.uniques]
        names += [(i.name, "index") for i in meta.indexes]
        for name, what in names:
            key = (meta.schema, name)
            if key in seen:
                raise ModelError(f"{what} name {name!r} is already used by {seen[key]} in "
                                 f"schema {meta.schema!r}", entity=meta.name)
            seen[key] = f"{what} of {meta.name}"


def _domains(config: DbModelConfig) -> tuple[Domain, ...]:
    out: dict[tuple[str, str], Domain] = {}
    for domain in config.domains:
        where = f"domain {domain.name}"
        check_identifier(domain.name, what="domain", entity=where)
        schema = check_identifier(domain.schema or config.default_schema, what="domain schema",
                                  entity=where)
        check_text(domain.default, what="domain default_sql", entity=where)
        check_text(domain.check, what="domain check", entity=where)
        check_text(domain.base_type.name, what="domain base type", entity=where)
        if domain.base_type.serial:
            raise ModelError("a domain cannot be over a serial type", entity=where)
        if (schema, domain.name) in out:
            raise ModelError("declared twice with model.has_domain(...)", entity=where)
        out[(schema, domain.name)] = replace(domain, schema=schema)
    return tuple(out.values())


def build_model(tables: Mapping[str, type[Any]], config: DbModelConfig) -> ModelMeta:
    """Build and validate the model of a context whose attributes ``tables`` map to entities.

    Raises :class:`ModelError` naming the entity and field on the first problem found.
    """
    for cls in tables.values():
        if not (isinstance(cls, type) and issubclass(cls, Entity)):
            raise ModelError(f"DbContext.table() expects an Entity subclass, got {cls!r}")
    seen_cls: dict[type, str] = {}
    for attr, cls in tables.items():
        if cls in seen_cls:
            raise ModelError(f"mapped twice, by {seen_cls[cls]!r} and {attr!r}",
                             entity=cls.__name__)
        seen_cls[cls] = attr
    for cls in config.entities:
        if cls not in seen_cls:
            raise ModelError("setup_model configures an entity the context does not include",
                             entity=getattr(cls, "__name__", repr(cls)))
    b = _Builder(config=config, tables=tables, enums={})
    metas = {cls: _build_entity(b, attr, cls) for attr, cls in tables.items()}
    fks = foreign_keys(metas)
    navs = navigations(config, metas, fks)
    final = []
    for cls, meta in metas.items():
        for fk in fks[cls].values():
            check_identifier(fk.name, what="constraint", entity=meta.name)
        final.append(replace(
            meta, foreign_keys=tuple(fks[cls].values()), navigations=tuple(navs[cls]),
            navigation_by_name=MappingProxyType({n.name: n for n in navs[cls]})))
    _check_relation_names(final)
    sequences = _sequences(config)
    relations = [(m.schema, name) for m in final
                 for name in (m.table, *(i.name for i in m.indexes))]
    relations += [s.key for s in sequences]
    return ModelMeta(entities=tuple(final), enums=tuple(b.enums.values()),
                     sequences=sequences, domains=_domains(config),
                     views=build_views(config.views, config.default_schema, relations),
                     default_schema=config.default_schema,
                     by_entity=MappingProxyType({m.entity: m for m in final}))


def _sequences(config: DbModelConfig) -> tuple[Sequence, ...]:
    """The model's standalone sequences, checked and placed in their schema."""
    sequences = []
    for seq in config.sequences:
        check_identifier(seq.name, what="sequence", entity=f"sequence {seq.name}")
        schema = check_identifier(seq.schema or config.default_schema, what="sequence schema",
                                  entity=f"sequence {seq.name}")
        sequences.append(replace(seq, schema=schema))
    return tuple(sequences)
