"""A database's schema written as a linkgress model: what ``linkgress db pull`` prints (pure).

Prisma's ``db pull`` and Django's ``inspectdb`` start adoption the same way: read the database
another tool made and write the model that describes it. :func:`render_model` turns an
introspected :class:`~linkgress.schema.snapshot.Schema` into the source of a Python module — an
``Entity`` class per table, a ``DbContext`` listing them, ``setup_model`` for what annotations do
not say (composite keys, indexes, multi-column constraints, tables outside ``public``, enum and
sequence placement) — written so that ``analyze()`` with that model against the same database
proposes nothing. Types, defaults and expressions are copied as PostgreSQL prints them.
Whatever the model cannot state stays out and is listed in comments at the top of the module, as
``analyze_full().notes`` lists it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from linkgress.migrations.render import q, type_expr
from linkgress.model.inference import snake_case
from linkgress.model.naming import generated_name
from linkgress.model.types import ColumnType
from linkgress.schema.pullsource import (
    BUILTINS,
    MAX_LINE,
    TAKEN,
    Names,
    PulledModule,
    call_source,
    class_name,
    identifier,
    member_name,
    python_type,
    split_top_level,
    sql_literal,
)
from linkgress.schema.snapshot import (
    Column,
    Domain,
    EnumType,
    ForeignKey,
    Index,
    Schema,
    Table,
    UniqueConstraint,
    View,
)

__all__ = ["render_model"]

def _enum_class(enum: EnumType, module: PulledModule) -> str:
    name = module.enum_classes[enum.key]
    taken: set[str] = set()
    lines = [f"class {name}({module.python('enum', 'enum')}.Enum):"]
    lines += [f"    {member_name(label, taken)} = {q(label)}" for label in enum.values]
    return "\n".join(lines)


def _annotation(column: Column, module: PulledModule) -> str:
    ct = column.type
    if ct.is_enum and ct.schema is not None:
        head = module.enum_classes.get((ct.schema, ct.name), "str")
    else:
        head = module.python(*python_type(module.base(ct)))
    for _ in range(ct.dims):
        head = f"list[{head}]"
    return f"{head} | None" if column.nullable and column.identity is None else head


def _column_type(ct: ColumnType, module: PulledModule) -> str:
    if ct.is_enum and ct.schema is not None and not ct.dims:
        return ""  # the annotation's enum class says it
    return type_expr(ct, module.code)


def _single_fks(table: Table) -> dict[str, ForeignKey]:
    return {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}


def _fk_arguments(table: Table, fk: ForeignKey, module: PulledModule) -> list[str]:
    target = module.entity_classes.get((fk.ref_schema, fk.ref_table))
    if target is None:
        return []
    ref_attr = module.attrs[(fk.ref_schema, fk.ref_table)].get(fk.ref_columns[0],
                                                               fk.ref_columns[0])
    args = [f"references=({q(target)}, {q(ref_attr)})"]
    if fk.on_delete != "NO ACTION":
        args.append(f"on_delete={q(fk.on_delete.lower())}")
    if fk.on_update != "NO ACTION":
        args.append(f"on_update={q(fk.on_update.lower())}")
    if fk.deferrable:
        args.append("deferrable=True")
    if fk.initially_deferred:
        args.append("initially_deferred=True")
    if fk.match != "SIMPLE":
        args.append(f"match={q(fk.match.lower())}")
    if fk.name != _generated(table.name, fk.columns[0], "fkey"):
        args.append(f"constraint_name={q(fk.name)}")
    return args


def _generated(table: str, column: str, suffix: str) -> str:
    return generated_name(table, column, suffix)


def _column_arguments(table: Table, column: Column, module: PulledModule) -> list[str]:
    args = [t] if (t := _column_type(column.type, module)) else []
    attr = module.attrs[table.key][column.name]
    if attr != column.name:
        args.append(f"name={q(column.name)}")
    pk = table.primary_key
    if pk is not None and pk.columns == (column.name,) and pk.name == f"{table.name}_pkey":
        args.append("primary_key=True")
    if column.identity is not None:
        args.append("identity=True" if column.identity == "by default" else 'identity="always"')
        args += [f"identity_{what}={value}" for what, value in (
            ("start", column.identity_start), ("increment", column.identity_increment))
            if value is not None]
    elif column.generated is not None:
        args.append(f"generated={q(column.generated)}")
    elif column.default is not None and not column.type.serial:
        args.append(f"default_sql={q(column.default)}")
    if any(u.columns == (column.name,) and _plain_unique(table, u) for u in table.uniques):
        args.append("unique=True")
    if _indexed(table, column.name):
        args.append("index=True")
    fk = _single_fks(table).get(column.name)
    if fk is not None:
        args += _fk_arguments(table, fk, module)
    if column.identity is not None and column.nullable:
        args.append("nullable=True")
    if column.comment is not None:
        args.append(f"comment={q(column.comment)}")
    return args


def _plain_unique(table: Table, unique: UniqueConstraint) -> bool:
    """What ``column(unique=True)`` states: one column, linkgress's name, no options."""
    return (len(unique.columns) == 1 and not unique.nulls_not_distinct and not unique.deferrable
            and unique.name == _generated(table.name, unique.columns[0], "key"))


def _indexed(table: Table, column: str) -> bool:
    return any(_simple_index(table, ix) and ix.columns == (column,) for ix in table.indexes)


def _simple_index(table: Table, index: Index) -> bool:
    return (len(index.columns) == 1 and not index.unique and index.method == "btree"
            and index.where is None and not index.nulls_not_distinct
            and not (index.include or index.opclasses or index.collations or index.descending
                     or index.nulls)
            and index.name == f"ix_{table.name}_{index.columns[0]}")


def _field(table: Table, column: Column, module: PulledModule) -> str:
    attr = module.attrs[table.key][column.name]
    args = _column_arguments(table, column, module)
    call = module.code.alias("column")
    return call_source(f"{attr}: {_annotation(column, module)} = {call}", args, "    ")


def _entity_class(table: Table, module: PulledModule) -> str:
    name = module.entity_classes[table.key]
    lines = [f"class {name}(Entity):"]
    lines += [_field(table, column, module) for column in table.columns]
    return "\n".join(lines)


def _members(table: Table, columns: Iterable[str], module: PulledModule) -> list[str]:
    attrs = module.attrs[table.key]
    return [q(c if c.startswith("(") else attrs.get(c, c)) for c in columns]


def _setup_lines(table: Table, module: PulledModule, default_schema: str) -> list[str]:
    """The ``setup_model`` calls for one table (empty when annotations say everything)."""
    calls: list[tuple[str, list[str]]] = []
    if module.context_attrs[table.key] != table.name or table.schema != default_schema:
        place = [q(table.name)]
        if table.schema != default_schema:
            place.append(f"schema={q(table.schema)}")
        calls.append(("to_table", place))
    if table.comment is not None:
        calls.append(("has_comment", [q(table.comment)]))
    calls += _key_calls(table, module)
    calls += _partition_calls(table, module)
    for unique in table.uniques:
        if not _plain_unique(table, unique):
            flags = [f"{flag}=True" for flag in ("deferrable", "initially_deferred",
                                                 "nulls_not_distinct") if getattr(unique, flag)]
            calls.append(("has_unique", [q(unique.name), *_members(table, unique.columns,
                                                                    module), *flags]))
    calls += [("has_check", [q(c.name), q(c.expression)]) for c in table.checks]
    calls += [_index_call(table, ix, module) for ix in table.indexes
              if not _simple_index(table, ix)]
    entity = f"model.entity({module.entity_classes[table.key]})"
    lines = [call_source(f"{entity}.{method}", args, "        ") for method, args in calls]
    return lines + _composite_fk_lines(table, module, entity)


def _partition_member(member: str, table: Table, module: PulledModule) -> str:
    name = member[1:-1].replace('""', '"') if member.startswith('"') else member
    if table.column(name) is not None:
        return q(module.attrs[table.key][name])
    return q(f"({member})")


def _partition_calls(table: Table, module: PulledModule) -> list[tuple[str, list[str]]]:
    """``partition_by(strategy, *members)`` from ``RANGE (a, (expr))`` and a
    ``has_partition`` per partition."""
    if table.partition_by is None:
        return []
    strategy, _, rest = table.partition_by.partition(" ")
    inner = rest.strip()[1:-1]
    members = [_partition_member(m, table, module) for m in split_top_level(inner)]
    calls = [("partition_by", [q(strategy.lower()), *members])]
    for part in table.partitions:
        bound = part.bound.strip()
        if bound.upper() == "DEFAULT":
            calls.append(("has_partition", [q(part.name), "default=True"]))
        else:
            for_values = bound[len("FOR VALUES "):] if bound.upper().startswith(
                "FOR VALUES ") else bound
            calls.append(("has_partition", [q(part.name), q(for_values)]))
    return calls


def _key_calls(table: Table, module: PulledModule) -> list[tuple[str, list[str]]]:
    pk = table.primary_key
    if pk is None:
        return [("has_no_key", [])]
    if len(pk.columns) == 1 and pk.name == f"{table.name}_pkey":
        return []
    name = [] if pk.name == f"{table.name}_pkey" else [f"name={q(pk.name)}"]
    return [("has_key", [*_members(table, pk.columns, module), *name])]


def _index_call(table: Table, index: Index, module: PulledModule) -> tuple[str, list[str]]:
    args = [q(index.name), *_members(table, index.columns, module)]
    if index.unique:
        args.append("unique=True")
    if index.method != "btree":
        args.append(f"method={q(index.method)}")
    if index.where is not None:
        args.append(f"where={q(index.where)}")
    if index.nulls_not_distinct:
        args.append("nulls_not_distinct=True")
    return ("has_index", args + _element_options(table, index, module))


def _element_options(table: Table, index: Index, module: PulledModule) -> list[str]:
    """``include=``, ``opclasses=``, ``collations=``, ``descending=``, ``nulls=`` of an index;
    per-element options as mappings keyed by the member as the member list writes it."""
    members = _members(table, index.columns, module)
    out = []
    if index.include:
        out.append(f"include=[{', '.join(_members(table, index.include, module))}]")
    for option, values in (("opclasses", index.opclasses), ("collations", index.collations),
                           ("nulls", index.nulls)):
        given = {m: v for m, v in zip(members, values, strict=False) if v is not None}
        if given:
            out.append(f"{option}={{{', '.join(f'{m}: {q(v)}' for m, v in given.items())}}}")
    if any(index.descending):
        flagged = [m for m, desc in zip(members, index.descending, strict=False) if desc]
        out.append(f"descending=[{', '.join(flagged)}]")
    return out


def _composite_fk_lines(table: Table, module: PulledModule, entity: str) -> list[str]:
    """A navigation per foreign key over several columns (one column: ``references=``)."""
    lines = []
    taken = set(module.attrs[table.key].values())
    for fk in table.foreign_keys:
        target = module.entity_classes.get((fk.ref_schema, fk.ref_table))
        if len(fk.columns) == 1 or target is None:
            continue
        navigation = identifier(snake_case(target), taken)
        taken.add(navigation)
        ref_attrs = module.attrs[(fk.ref_schema, fk.ref_table)]
        steps = [("with_foreign_key", _members(table, fk.columns, module)),
                 ("with_principal_key", [q(ref_attrs.get(c, c)) for c in fk.ref_columns]),
                 ("has_constraint_name", [q(fk.name)])]
        if fk.on_delete != "NO ACTION":
            steps.append(("on_delete", [q(fk.on_delete.lower())]))
        if fk.on_update != "NO ACTION":
            steps.append(("on_update", [q(fk.on_update.lower())]))
        chain = "".join(f"\n            .{m}({', '.join(a)})" for m, a in steps)
        lines.append(f"        (\n            {entity}.has_one({q(navigation)}, {target})"
                     f"{chain}\n        )")
    return lines


def _builtins_used(table: Table, module: PulledModule) -> set[str]:
    """The builtins this table's annotations name (an attribute must not shadow them)."""
    used = set()
    for column in table.columns:
        used.add(python_type(module.base(column.type))[1])
        if column.type.dims:
            used.add("list")
    return used & set(BUILTINS)


def _name_everything(schema: Schema, module: PulledModule) -> None:
    module.domains = {d.key: d.base_type for d in schema.domains}
    classes: set[str] = {"DbContext", "DbModelConfig", "Entity", "column", "enum", "dt"}
    tables: set[str] = set(TAKEN)
    for enum in schema.enums:
        module.enum_classes[enum.key] = name = class_name(enum.name, classes)
        classes.add(name)
    for table in schema.tables:
        module.entity_classes[table.key] = name = class_name(table.name, classes)
        classes.add(name)
        module.context_attrs[table.key] = attr = identifier(table.name, tables)
        tables.add(attr)
    clashes: set[str] = set()
    for table in schema.tables:
        taken = {*TAKEN, *module.enum_classes.values(), *_builtins_used(table, module)}
        attrs: dict[str, str] = {}
        for column in table.columns:
            attrs[column.name] = attr = identifier(column.name, taken)
            taken.add(attr)
        module.attrs[table.key] = attrs
        clashes |= set(attrs.values())
    module.code = Names(clashes)


def _domain_line(domain: Domain, module: PulledModule, default_schema: str) -> str:
    args = [q(domain.name), type_expr(domain.base_type, module.code)]
    if domain.not_null:
        args.append("not_null=True")
    if domain.default is not None:
        args.append(f"default_sql={q(domain.default)}")
    if domain.check is not None:
        args.append(f"check={q(domain.check)}")
    if domain.schema != default_schema:
        args.append(f"schema={q(domain.schema)}")
    return call_source("model.has_domain", args, "        ")


def _view_order(views: tuple[View, ...]) -> list[View]:
    """The views, each after those it reads (as the database says)."""
    by_key = {f"{v.schema}.{v.name}": v for v in views}
    done: dict[str, View] = {}

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in done or key in path or key not in by_key:
            return
        for dependency in by_key[key].depends_on:
            visit(dependency, (*path, key))
        done[key] = by_key[key]

    for key in sorted(by_key):
        visit(key, ())
    return list(done.values())


def _view_line(view: View, default_schema: str) -> str:
    args = [q(view.name), sql_literal(view.definition.strip(), "            ")]
    if view.materialized:
        args.append("materialized=True")
    if view.schema != default_schema:
        args.append(f"schema={q(view.schema)}")
    return "        model.has_view(\n" + "".join(f"            {a},\n" for a in args) + "        )"


def _enum_setup(schema: Schema, module: PulledModule, default_schema: str) -> list[str]:
    lines = [_domain_line(d, module, default_schema) for d in schema.domains]
    for enum in schema.enums:
        cls = module.enum_classes[enum.key]
        if snake_case(cls) != enum.name or enum.schema != default_schema:
            place = "" if enum.schema == default_schema else f", schema={q(enum.schema)}"
            lines.append(f"        model.has_enum({cls}, name={q(enum.name)}{place})")
    for seq in schema.sequences:
        args = [q(seq.name)]
        if seq.schema != default_schema:
            args.append(f"schema={q(seq.schema)}")
        for attr, default in (("data_type", "bigint"), ("start", 1), ("increment", 1),
                              ("min_value", None), ("max_value", None), ("cache", 1),
                              ("cycle", False)):
            value = getattr(seq, attr)
            if value != default:
                args.append(f"{attr}={q(value) if isinstance(value, str) else value!r}")
        lines.append(f"        model.has_sequence({', '.join(args)})")
    return lines


def _context(schema: Schema, module: PulledModule, name: str, default_schema: str) -> str:
    lines = [f"class {name}(DbContext):"]
    for table in schema.tables:
        lines.append(f"    {module.context_attrs[table.key]} = "
                     f"DbContext.table({module.entity_classes[table.key]})")
    setup = _enum_setup(schema, module, default_schema)
    for table in schema.tables:
        setup += _setup_lines(table, module, default_schema)
    setup += [_view_line(v, default_schema) for v in _view_order(schema.views)]
    if setup:
        module.code.use("DbModelConfig")
        lines += ["", "    def setup_model(self, model: DbModelConfig) -> None:"]
        if default_schema != "public":
            lines.append(f"        model.has_default_schema({q(default_schema)})")
        lines += setup
    elif default_schema != "public":
        module.code.use("DbModelConfig")
        lines += ["", "    def setup_model(self, model: DbModelConfig) -> None:",
                  f"        model.has_default_schema({q(default_schema)})"]
    return "\n".join(lines)


def render_model(schema: Schema, *, context: str = "Database", source: str = "",
                 default_schema: str = "public") -> str:
    """Python source of a model module describing ``schema``: enum classes, one ``Entity`` per
    table, and a ``DbContext`` subclass named ``context``. ``source`` (e.g. the database name)
    goes into the docstring; the notes of what the model cannot state follow it as comments."""
    module = PulledModule()
    _name_everything(schema, module)
    enums = [_enum_class(enum, module) for enum in schema.enums]
    entities = [_entity_class(table, module) for table in schema.tables]
    context_class = _context(schema, module, context, default_schema)
    doc = [f"The model of {source or 'a database'}, written by ``linkgress db pull``.", ""]
    doc += ["Edit it freely: it is the source of truth from now on. ``linkgress db check``",
            "confirms it still describes the database."]
    header = '"""' + "\n".join(doc) + '\n"""'
    if schema.notes:
        header += "\n\n# Not stated here (linkgress leaves these alone):\n" + "\n".join(
            textwrap.fill(" ".join(note.split()), width=MAX_LINE, initial_indent="# - ",
                          subsequent_indent="#   ", break_on_hyphens=False,
                          break_long_words=False)
            for note in schema.notes)
    parts = [header, module.imports(), *enums, *entities, context_class]
    return "\n\n\n".join(parts[:1]) + "\n\n" + "\n\n\n".join(parts[1:]) + "\n"
