"""Foreign keys and navigations: the second pass of model building, across entities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from linkgress.errors import ModelError
from linkgress.model.entity import ColumnInfo
from linkgress.model.fluent import DbModelConfig, EntitySettings
from linkgress.model.meta import EntityMeta, NavigationMeta
from linkgress.model.naming import (
    check_identifier,
    find_column_info,
    generated_name,
    normalize_action,
)
from linkgress.schema.snapshot import FK_MATCHES, ForeignKey

ForeignKeys = dict[type, dict[tuple[str, ...], ForeignKey]]


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


def _add_fk(fks: ForeignKeys, owner: EntityMeta,
            fk: ForeignKey) -> None:
    """Record ``fk``; a second declaration of the same columns refines the first."""
    existing = fks[owner.entity].get(fk.columns)
    if existing is not None and (existing.ref_schema, existing.ref_table) != (
            fk.ref_schema, fk.ref_table):
        raise ModelError(f"columns {', '.join(fk.columns)} reference both "
                         f"{existing.ref_table} and {fk.ref_table}", entity=owner.name)
    plain = (fk.on_delete, fk.on_update, fk.deferrable, fk.match) == (
        "NO ACTION", "NO ACTION", False, "SIMPLE")
    if existing is not None and plain:
        return
    fks[owner.entity][fk.columns] = fk


def _check_attrs(meta: EntityMeta, attrs: tuple[str, ...], *, entity: str, field: str) -> None:
    for a in attrs:
        if a not in meta.by_attr:
            raise ModelError(f"foreign key {a!r} is not a column of {meta.name}",
                             entity=entity, field=field)


def navigations(config: DbModelConfig, metas: dict[type, EntityMeta],
                 fks: ForeignKeys
                 ) -> dict[type, list[NavigationMeta]]:
    navs: dict[type, list[NavigationMeta]] = {cls: [] for cls in metas}
    for cls, meta in metas.items():
        settings = config.entities.get(cls, EntitySettings())
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


def foreign_keys(metas: dict[type, EntityMeta]
                  ) -> ForeignKeys:
    fks: ForeignKeys = {cls: {} for cls in metas}
    for cls, meta in metas.items():
        for col in meta.columns:
            info = find_column_info(cls, col.attr)
            if info.references is None:
                _check_no_fk_options(info, entity=meta.name, field=col.attr)
                continue
            target, attr = _resolve_target(info.references, metas, entity=meta.name,
                                           field=col.attr)
            pk = _principal_columns(target, (attr,) if attr else (), entity=meta.name,
                                    field=col.attr)
            if len(pk) != 1:
                raise ModelError(f"references {target.name}, whose key has {len(pk)} columns; "
                                 "use has_one(...).with_foreign_key(...) for composite keys",
                                 entity=meta.name, field=col.attr)
            fk = _fk(meta, (col.attr,), target, pk,
                     normalize_action(info.on_delete, entity=meta.name, field=col.attr),
                     normalize_action(info.on_update, entity=meta.name, field=col.attr),
                     info.constraint_name)
            _add_fk(fks, meta, replace(fk, **fk_options(info, entity=meta.name, field=col.attr)))
    return fks


def _check_no_fk_options(info: ColumnInfo, *, entity: str, field: str) -> None:
    given = [name for name in ("on_delete", "on_update", "match", "constraint_name")
             if getattr(info, name)]
    given += [name for name in ("deferrable", "initially_deferred") if getattr(info, name)]
    if given:
        raise ModelError(f"{'/'.join(given)} need references=", entity=entity, field=field)


def fk_options(info: ColumnInfo, *, entity: str, field: str) -> dict[str, Any]:
    """``deferrable``, ``initially_deferred`` and ``match`` of ``column(references=...)``,
    validated."""
    if info.initially_deferred and not info.deferrable:
        raise ModelError("initially_deferred=True needs deferrable=True", entity=entity,
                         field=field)
    match = (info.match or "simple").upper()
    if match not in FK_MATCHES:
        raise ModelError(f"match must be 'simple' or 'full', got {info.match!r}", entity=entity,
                         field=field)
    if info.constraint_name is not None:
        check_identifier(info.constraint_name, what="constraint", entity=entity, field=field)
    return {"deferrable": bool(info.deferrable),
            "initially_deferred": bool(info.initially_deferred), "match": match}
