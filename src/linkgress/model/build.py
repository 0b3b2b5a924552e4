"""Build a context's frozen :class:`ModelMeta` from its entities and ``setup_model`` settings.

Validation lives here, so an invalid model raises :class:`ModelError` (naming the entity and the
field) when the context is created, before anything touches a database.
"""

from __future__ import annotations

import enum
import hashlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from linkgress.errors import ModelError
from linkgress.model.entity import MISSING, ColumnInfo, Entity
from linkgress.model.fluent import DbModelConfig, EntitySettings, PropertySettings
from linkgress.model.inference import UnsupportedAnnotation, infer_type, split_optional
from linkgress.model.literals import sql_literal
from linkgress.model.meta import ColumnMeta, EntityMeta, EnumMeta, ModelMeta, NavigationMeta
from linkgress.model.types import INTEGER_TYPES, ColumnType
from linkgress.schema.snapshot import (
    FK_ACTIONS,
    CheckConstraint,
    ForeignKey,
    Index,
    UniqueConstraint,
)

MAX_IDENTIFIER_BYTES = 63
INDEX_METHODS = ("btree", "hash", "gist", "gin", "spgist", "brin")


def check_identifier(name: str, *, what: str, entity: str | None,
                     field: str | None = None) -> str:
    """Reject empty names, NUL bytes and names PostgreSQL would silently truncate."""
    if not name or "\x00" in name:
        raise ModelError(f"invalid {what} name {name!r}", entity=entity, field=field)
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise ModelError(f"{what} name {name!r} is {len(name.encode())} bytes long; PostgreSQL "
                         f"allows at most {MAX_IDENTIFIER_BYTES}", entity=entity, field=field)
    return name


def generated_name(*parts: str) -> str:
    """A constraint/index name from ``parts``, shortened with a hash suffix to fit 63 bytes."""
    name = "_".join(parts)
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[: MAX_IDENTIFIER_BYTES - 9].decode(errors="ignore")
    return f"{head}_{digest}"


def normalize_action(action: str | None, *, entity: str, field: str | None) -> str:
    """``"cascade"`` / ``"set_null"`` -> ``"CASCADE"`` / ``"SET NULL"``; None -> NO ACTION."""
    if action is None:
        return "NO ACTION"
    normal = " ".join(action.replace("_", " ").upper().split())
    if normal not in FK_ACTIONS:
        raise ModelError(f"unknown foreign key action {action!r}; expected one of "
                         f"{', '.join(a.lower() for a in FK_ACTIONS)}", entity=entity,
                         field=field)
    return normal


def find_column_info(cls: type, attr: str) -> ColumnInfo:
    """The ``ColumnInfo`` declared for ``attr`` on ``cls`` or a base class."""
    for klass in cls.__mro__:
        value = klass.__dict__.get(attr)
        if isinstance(value, ColumnInfo):
            return value
    return ColumnInfo()


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
        values = tuple(str(m.value) for m in cls)
        if not values:
            raise ModelError(f"enum {cls.__name__} has no members", entity=entity, field=field)
        for label in values:
            if len(label.encode()) > MAX_IDENTIFIER_BYTES:
                raise ModelError(f"enum label {label!r} is longer than 63 bytes",
                                 entity=entity, field=field)
        for other in self.enums.values():
            if (other.schema, other.name) == (schema, name):
                raise ModelError(f"enums {other.enum_class.__name__} and {cls.__name__} both map "
                                 f"to PostgreSQL type {schema}.{name}; name one with "
                                 "model.has_enum(...)", entity=entity, field=field)
        meta = EnumMeta(enum_class=cls, schema=schema, name=name, values=values)
        self.enums[cls] = meta
        return meta


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
    return ctype, nullable, enum_class, inner


def _build_column(b: _Builder, cls: type, attr: str, hint: Any,
                  settings: EntitySettings) -> ColumnMeta:
    entity = cls.__name__
    info = find_column_info(cls, attr)
    prop = settings.properties.get(attr, PropertySettings())
    ctype, nullable, enum_class, inner = _column_type(b, cls, attr, hint, info, prop)
    if info.nullable is not None:
        nullable = info.nullable
    if prop.nullable is not None:
        nullable = prop.nullable
    name = check_identifier(prop.column_name or info.name or attr, what="column",
                            entity=entity, field=attr)
    py_default = prop.default if prop.default is not MISSING else (
        MISSING if prop.default_sql is not None else info.default)
    default_sql = prop.default_sql if prop.default_sql is not None else (
        None if prop.default is not MISSING else info.default_sql)
    if py_default is not MISSING and default_sql is not None:
        raise ModelError("give either default= or default_sql=, not both", entity=entity,
                         field=attr)
    default = default_sql
    if py_default is not MISSING:
        try:
            default = sql_literal(py_default, ctype)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"default {py_default!r} does not fit the column: {exc}",
                             entity=entity, field=attr) from None
    identity: str | None = prop.identity or (
        "by default" if info.identity is True else (info.identity or None))
    if identity is not None and identity not in ("by default", "always"):
        raise ModelError(f"identity must be 'by default' or 'always', got {identity!r}",
                         entity=entity, field=attr)
    if identity is not None and ctype.name not in INTEGER_TYPES:
        raise ModelError(f"an identity column must be an integer type, not {ctype.display}",
                         entity=entity, field=attr)
    return ColumnMeta(
        attr=attr, name=name, type=ctype, nullable=nullable, python_type=inner,
        primary_key=info.primary_key, identity=identity, default=default,
        python_default=None if py_default is MISSING else py_default,
        has_python_default=py_default is not MISSING,
        comment=prop.comment if prop.comment is not None else info.comment,
        renamed_from=prop.renamed_from or info.renamed_from, enum_class=enum_class)


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
                and find_column_info(cls, "id").identity is not False):
            by_attr["id"] = replace(conv, identity=conv.identity or "by default")
    if not key_attrs:
        raise ModelError("has no primary key: declare an `id: int` field, "
                         "column(primary_key=True), model.entity(...).has_key(...), or "
                         "has_no_key() for a keyless table", entity=entity)
    fixed = [replace(by_attr[c.attr], primary_key=c.attr in key_attrs,
                     nullable=False if c.attr in key_attrs else by_attr[c.attr].nullable)
             for c in columns]
    name = settings.key_name or generated_name(table, "pkey")
    return fixed, tuple(by_attr[a].name for a in key_attrs), name


def _table_indexes(cls: type, settings: EntitySettings, table: str,
                   by_attr: Mapping[str, ColumnMeta]) -> tuple[Index, ...]:
    entity = cls.__name__
    out = []
    for attr, col in by_attr.items():
        if find_column_info(cls, attr).index:
            out.append(Index(name=generated_name("ix", table, col.name), columns=(col.name,)))
    for ix in settings.indexes:
        check_identifier(ix.name, what="index", entity=entity)
        method = (ix.method or "btree").lower()
        if method not in INDEX_METHODS:
            raise ModelError(f"index {ix.name!r} has unknown method {ix.method!r}; expected "
                             f"one of {', '.join(INDEX_METHODS)}", entity=entity)
        if not ix.members:
            raise ModelError(f"index {ix.name!r} has no columns", entity=entity)
        cols = []
        for member in ix.members:
            if member.startswith("("):
                cols.append(member)
            elif member in by_attr:
                cols.append(by_attr[member].name)
            else:
                raise ModelError(f"index {ix.name!r} names unknown column {member!r}",
                                 entity=entity, field=member)
        out.append(Index(name=ix.name, columns=tuple(cols), unique=ix.unique, method=method,
                         where=ix.where, nulls_not_distinct=ix.nulls_not_distinct,
                         concurrently=ix.concurrently))
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
                                            columns=(col.name,)))
        if info.check:
            checks.append(CheckConstraint(name=generated_name(table, col.name, "check"),
                                          expression=info.check))
    for name, members in settings.uniques:
        check_identifier(name, what="constraint", entity=entity)
        for m in members:
            if m not in by_attr:
                raise ModelError(f"unique constraint {name!r} names unknown column {m!r}",
                                 entity=entity, field=m)
        uniques.append(UniqueConstraint(name=name, columns=tuple(by_attr[m].name
                                                                 for m in members)))
    for name, expression in settings.checks:
        check_identifier(name, what="constraint", entity=entity)
        checks.append(CheckConstraint(name=name, expression=expression))
    return tuple(uniques), tuple(checks)


def _build_entity(b: _Builder, context_attr: str, cls: type) -> EntityMeta:
    entity = cls.__name__
    settings = b.config.entities.get(cls, EntitySettings())
    hints = _resolve_hints(cls)
    table = check_identifier(settings.table or context_attr, what="table", entity=entity)
    schema = check_identifier(settings.schema or b.config.default_schema, what="schema",
                              entity=entity)
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
    by_attr = {c.attr: c for c in columns}
    uniques, checks = _table_constraints(cls, settings, table, by_attr)
    return EntityMeta(
        entity=cls, context_attr=context_attr, schema=schema, table=table,
        columns=tuple(columns), primary_key=pk, primary_key_name=pk_name, uniques=uniques,
        checks=checks, indexes=_table_indexes(cls, settings, table, by_attr),
        comment=settings.comment, by_attr=MappingProxyType(by_attr))


def _resolve_target(ref: Any, metas: Mapping[type, EntityMeta], *, entity: str,
                    field: str) -> tuple[EntityMeta, str | None]:
    attr: str | None = None
    if isinstance(ref, tuple) and len(ref) == 2:
        ref, attr = ref
    if isinstance(ref, str):
        found = [m for m in metas.values() if m.entity.__name__ == ref]
        if len(found) != 1:
            raise ModelError(f"references entity {ref!r}, which the context does not include",
                             entity=entity, field=field)
        return found[0], attr
    if isinstance(ref, type) and ref in metas:
        return metas[ref], attr
    name = getattr(ref, "__name__", repr(ref))
    raise ModelError(f"references {name}, which the context does not include", entity=entity,
                     field=field)


def _principal_columns(target: EntityMeta, attrs: tuple[str, ...], *, entity: str,
                       field: str) -> tuple[str, ...]:
    if not attrs:
        if not target.primary_key:
            raise ModelError(f"references {target.name}, which has no primary key",
                             entity=entity, field=field)
        return target.primary_key_attrs
    for a in attrs:
        if a not in target.by_attr:
            raise ModelError(f"principal key {a!r} is not a column of {target.name}",
                             entity=entity, field=field)
    return attrs


def _fk(owner: EntityMeta, fk_attrs: tuple[str, ...], target: EntityMeta,
        pk_attrs: tuple[str, ...], on_delete: str, on_update: str,
        name: str | None) -> ForeignKey:
    cols = tuple(owner.by_attr[a].name for a in fk_attrs)
    return ForeignKey(name=name or generated_name(owner.table, *cols, "fkey"), columns=cols,
                      ref_schema=target.schema, ref_table=target.table,
                      ref_columns=tuple(target.by_attr[a].name for a in pk_attrs),
                      on_delete=on_delete, on_update=on_update)


def _add_fk(fks: dict[type, dict[tuple[str, ...], ForeignKey]], owner: EntityMeta,
            fk: ForeignKey) -> None:
    """Record ``fk``; a second declaration of the same columns refines the first."""
    existing = fks[owner.entity].get(fk.columns)
    if existing is not None and (existing.ref_schema, existing.ref_table) != (
            fk.ref_schema, fk.ref_table):
        raise ModelError(f"columns {', '.join(fk.columns)} reference both "
                         f"{existing.ref_table} and {fk.ref_table}", entity=owner.name)
    if existing is not None and fk.on_delete == "NO ACTION" and fk.on_update == "NO ACTION":
        return
    fks[owner.entity][fk.columns] = fk


def _check_attrs(meta: EntityMeta, attrs: tuple[str, ...], *, entity: str, field: str) -> None:
    for a in attrs:
        if a not in meta.by_attr:
            raise ModelError(f"foreign key {a!r} is not a column of {meta.name}",
                             entity=entity, field=field)


def _navigations(b: _Builder, metas: dict[type, EntityMeta],
                 fks: dict[type, dict[tuple[str, ...], ForeignKey]]
                 ) -> dict[type, list[NavigationMeta]]:
    navs: dict[type, list[NavigationMeta]] = {cls: [] for cls in metas}
    for cls, meta in metas.items():
        settings = b.config.entities.get(cls, EntitySettings())
        for nav in settings.navigations:
            entity, field = meta.name, nav.name
            if nav.name in meta.by_attr:
                raise ModelError("a navigation cannot share its name with a column",
                                 entity=entity, field=field)
            target, _ = _resolve_target(nav.target, metas, entity=entity, field=field)
            dependent, principal = (meta, target) if nav.kind == "one" else (target, meta)
            fk_attrs = nav.foreign_key or _infer_fk(dependent, principal, nav.name, nav.kind)
            if not fk_attrs:
                raise ModelError(f"cannot infer the foreign key of navigation {nav.name!r}; "
                                 "use .with_foreign_key(...)", entity=entity, field=field)
            _check_attrs(dependent, fk_attrs, entity=entity, field=field)
            pk_attrs = _principal_columns(principal, nav.principal_key, entity=entity,
                                          field=field)
            if len(pk_attrs) != len(fk_attrs):
                raise ModelError("foreign and principal keys have different lengths",
                                 entity=entity, field=field)
            if nav.create_constraint:
                _add_fk(fks, dependent, _fk(
                    dependent, fk_attrs, principal, pk_attrs,
                    normalize_action(nav.on_delete, entity=entity, field=field),
                    normalize_action(nav.on_update, entity=entity, field=field),
                    nav.constraint_name))
            required = nav.required if nav.required is not None else (
                nav.kind == "one" and all(not dependent.by_attr[a].nullable for a in fk_attrs))
            local, remote = (fk_attrs, pk_attrs) if nav.kind == "one" else (pk_attrs, fk_attrs)
            navs[cls].append(NavigationMeta(name=nav.name, kind=nav.kind, target=target.entity,
                                            local_columns=local, remote_columns=remote,
                                            required=required))
    return navs


def _infer_fk(dependent: EntityMeta, principal: EntityMeta, name: str,
              kind: str) -> tuple[str, ...]:
    if kind == "one" and f"{name}_id" in dependent.by_attr:
        return (f"{name}_id",)
    candidates = []
    for col in dependent.columns:
        ref = find_column_info(dependent.entity, col.attr).references
        ref_cls = ref[0] if isinstance(ref, tuple) else ref
        if ref_cls is principal.entity or ref_cls == principal.entity.__name__:
            candidates.append(col.attr)
    return (candidates[0],) if len(candidates) == 1 else ()


def _foreign_keys(b: _Builder, metas: dict[type, EntityMeta]
                  ) -> dict[type, dict[tuple[str, ...], ForeignKey]]:
    fks: dict[type, dict[tuple[str, ...], ForeignKey]] = {cls: {} for cls in metas}
    for cls, meta in metas.items():
        for col in meta.columns:
            info = find_column_info(cls, col.attr)
            if info.references is None:
                if info.on_delete or info.on_update:
                    raise ModelError("on_delete/on_update need references=", entity=meta.name,
                                     field=col.attr)
                continue
            target, attr = _resolve_target(info.references, metas, entity=meta.name,
                                           field=col.attr)
            pk = _principal_columns(target, (attr,) if attr else (), entity=meta.name,
                                    field=col.attr)
            if len(pk) != 1:
                raise ModelError(f"references {target.name}, whose key has {len(pk)} columns; "
                                 "use has_one(...).with_foreign_key(...) for composite keys",
                                 entity=meta.name, field=col.attr)
            _add_fk(fks, meta, _fk(
                meta, (col.attr,), target, pk,
                normalize_action(info.on_delete, entity=meta.name, field=col.attr),
                normalize_action(info.on_update, entity=meta.name, field=col.attr), None))
    return fks


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
    fks = _foreign_keys(b, metas)
    navs = _navigations(b, metas, fks)
    final = []
    for cls, meta in metas.items():
        for fk in fks[cls].values():
            check_identifier(fk.name, what="constraint", entity=meta.name)
        final.append(replace(
            meta, foreign_keys=tuple(fks[cls].values()), navigations=tuple(navs[cls]),
            navigation_by_name=MappingProxyType({n.name: n for n in navs[cls]})))
    _check_relation_names(final)
    sequences = []
    for seq in config.sequences:
        check_identifier(seq.name, what="sequence", entity=f"sequence {seq.name}")
        sequences.append(replace(seq, schema=seq.schema or config.default_schema))
    return ModelMeta(entities=tuple(final), enums=tuple(b.enums.values()),
                     sequences=tuple(sequences),
                     by_entity=MappingProxyType({m.entity: m for m in final}))
