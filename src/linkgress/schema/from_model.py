"""Convert a model's metadata to the canonical :class:`Schema`."""

from __future__ import annotations

from linkgress.model.meta import EntityMeta, ModelMeta
from linkgress.schema.snapshot import Column, EnumType, PrimaryKey, Schema, Table


def table_from_entity(meta: EntityMeta) -> Table:
    """The :class:`Table` an entity maps to."""
    columns = tuple(
        Column(name=c.name, type=c.type, nullable=c.nullable,
               default=None if c.identity else c.default, identity=c.identity,
               comment=c.comment, renamed_from=c.renamed_from, generated=c.generated_as,
               identity_start=c.identity_start, identity_increment=c.identity_increment,
               using=c.using)
        for c in meta.table_columns)
    pk = (PrimaryKey(name=meta.primary_key_name, columns=meta.primary_key)
          if meta.primary_key and meta.primary_key_name else None)
    return Table(schema=meta.schema, name=meta.table, columns=columns, primary_key=pk,
                 uniques=meta.uniques, checks=meta.checks, indexes=meta.indexes,
                 foreign_keys=meta.foreign_keys, comment=meta.comment,
                 partition_by=meta.partition_by, partitions=meta.partitions)


def schema_from_model(model: ModelMeta) -> Schema:
    """The schema the model declares. ``public`` is listed only if the model uses it."""
    return Schema(
        schemas=model.schemas,
        enums=tuple(EnumType(schema=e.schema, name=e.name, values=e.values)
                    for e in model.enums),
        sequences=model.sequences,
        tables=tuple(table_from_entity(m) for m in model.entities),
        views=model.views,
        domains=model.domains,
    )
