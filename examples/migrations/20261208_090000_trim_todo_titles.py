"""trim todo titles

A data migration: titles saved with surrounding spaces (before the API trimmed them) are
trimmed. The schema does not change, so the model still matches after it.
"""

from linkgress import Migration, SchemaBuilder


class TrimTodoTitles(Migration):
    async def up(self, schema: SchemaBuilder) -> None:
        await schema.execute("UPDATE todos SET title = btrim(title) WHERE title <> btrim(title)")

    async def down(self, schema: SchemaBuilder) -> None:
        pass  # the spaces are gone for good, and nothing depends on them
