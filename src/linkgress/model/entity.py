"""Entity classes and the ``column(...)`` declaration.

An entity is a plain class with annotations::

    class User(Entity):
        id: int
        username: str = column(varchar(100))

Nothing is registered anywhere when the class is defined: the model is built per context class.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, ClassVar

from linkgress.model.types import ColumnType

MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class ColumnInfo:
    """What ``column(...)`` declared for one attribute; ``User.username`` reads it (see
    :class:`EntityMeta`).

    (A descriptor too, for the rare default that is itself a descriptor: then it stays the
    class attribute and makes an unset attribute read as that default.)
    """

    __slots__ = ("attr", "check", "comment", "concurrency_token", "constraint_name", "default",
                 "default_sql", "deferrable", "deprecated", "generated", "identity",
                 "identity_increment", "identity_start", "index", "initially_deferred", "match",
                 "name", "nullable", "on_delete", "on_update", "primary_key", "references",
                 "renamed_from", "type", "unique", "using")

    def __init__(self, type: ColumnType | None = None, *, primary_key: bool = False,
                 unique: bool = False, index: bool = False, default: Any = MISSING,
                 default_sql: str | None = None, name: str | None = None,
                 references: Any = None, on_delete: str | None = None,
                 on_update: str | None = None, comment: str | None = None,
                 nullable: bool | None = None, identity: str | bool | None = None,
                 renamed_from: str | None = None, check: str | None = None,
                 deferrable: bool = False, initially_deferred: bool = False,
                 match: str | None = None, constraint_name: str | None = None,
                 generated: str | None = None, using: str | None = None,
                 identity_start: int | None = None,
                 identity_increment: int | None = None, deprecated: bool = False,
                 concurrency_token: bool = False) -> None:
        self.type = type
        self.concurrency_token = concurrency_token
        self.deprecated = deprecated
        self.generated = generated
        self.using = using
        self.identity_start = identity_start
        self.identity_increment = identity_increment
        self.deferrable = deferrable
        self.initially_deferred = initially_deferred
        self.match = match
        self.constraint_name = constraint_name
        self.primary_key = primary_key
        self.unique = unique
        self.index = index
        self.default = default
        self.default_sql = default_sql
        self.name = name
        self.references = references
        self.on_delete = on_delete
        self.on_update = on_update
        self.comment = comment
        self.nullable = nullable
        self.identity = identity
        self.renamed_from = renamed_from
        self.check = check
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return None if self.default is MISSING else self.default

    def __repr__(self) -> str:
        return f"column({self.attr!r})"


def column(type: ColumnType | None = None, *, primary_key: bool = False, unique: bool = False,
           index: bool = False, default: Any = MISSING, default_sql: str | None = None,
           name: str | None = None, references: Any = None, on_delete: str | None = None,
           on_update: str | None = None, comment: str | None = None,
           nullable: bool | None = None, identity: str | bool | None = None,
           renamed_from: str | None = None, check: str | None = None,
           deferrable: bool = False, initially_deferred: bool = False, match: str | None = None,
           constraint_name: str | None = None, generated: str | None = None,
           using: str | None = None, identity_start: int | None = None,
           identity_increment: int | None = None, deprecated: bool = False,
           concurrency_token: bool = False) -> Any:
    """Declare a column's details. Every argument is optional.

    - ``type``: a type builder's result (``varchar(100)``); inferred from the annotation if None.
    - ``primary_key``, ``unique``, ``index``: constraints and a single-column index.
    - ``default``: a Python value, rendered as a SQL literal; ``default_sql``: a raw expression.
    - ``references``: an entity class (or its name, or ``(Entity, "attr")``) for a foreign key,
      with ``on_delete`` / ``on_update`` (``"cascade"``, ``"set null"``, ``"restrict"``, ...),
      ``deferrable`` / ``initially_deferred`` (``DEFERRABLE INITIALLY DEFERRED``), ``match``
      (``"simple"``, the default, or ``"full"``) and ``constraint_name`` (default
      ``<table>_<column>_fkey``).
    - ``name``: the column name (default: the attribute's); ``nullable``: overrides ``X | None``.
    - ``concurrency_token``: an integer version column that ``update(entity)`` checks and
      increments (optimistic concurrency, see docs/concurrency.md).
    - ``identity``: ``True``/``"by default"`` or ``"always"`` for an identity column, with
      ``identity_start`` / ``identity_increment`` for its sequence (default 1 and 1).
    - ``generated``: ``GENERATED ALWAYS AS (expression) STORED``, an expression over the row's
      other columns computed by PostgreSQL, never written by the ORM (read back after inserts).
    - ``using``: an expression over the old column converting its values on a type change
      PostgreSQL has no cast for (``ALTER ... TYPE ... USING (to_timestamp(amount))``).
    - ``renamed_from``: the column's previous name, so a migration renames instead of dropping.
    - ``check``: a CHECK expression for this column; ``comment``: a column comment.
    - ``deprecated``: the column is on its way out (rolling deploys): it stays in the database
      (made nullable when it has no default, so inserts without it work) and the ORM never
      selects or writes it; remove it from the model later, and ``contract()`` drops it.

    Returns ``Any`` so that ``email: str = column(...)`` type-checks.
    """
    # Every parameter is a ColumnInfo option of the same name (so adding one is one line).
    return ColumnInfo(**locals())


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "ClassVar" in text


class EntityMeta(type):
    """The metaclass of entities: ``User.username`` (on the class) is the field's
    :class:`ColumnInfo`, so that a class attribute met inside a query lambda is refused by name.

    The class itself holds each field's plain Python default (or None) instead, which is what
    an instance that was not given the field reads. Instances never see this metaclass: their
    attributes are ordinary instance attributes over a plain class attribute, the case
    CPython's attribute access is fastest for (a descriptor there makes every read and write
    of the field take the slow path — about 2.5x slower reads, and entity building 1.7x).
    """

    def __getattribute__(cls, name: str) -> Any:
        infos: dict[str, ColumnInfo] = type.__getattribute__(cls, "__linkgress_infos__")
        info = infos.get(name)
        return type.__getattribute__(cls, name) if info is None else info


class Entity(metaclass=EntityMeta):
    """Base class of entities. Subclasses declare fields as annotations.

    Instances get a keyword constructor; fields the database generates may be left out and read
    as their Python default (or None) until the row is inserted.
    """

    __linkgress_fields__: ClassVar[tuple[str, ...]] = ()
    __linkgress_localns__: ClassVar[dict[str, Any]] = {}
    #: Each field's declaration, by attribute (inherited ones too).
    __linkgress_infos__: ClassVar[dict[str, ColumnInfo]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, None] = dict.fromkeys(cls.__linkgress_fields__)
        infos = dict(cls.__linkgress_infos__)
        own = type.__getattribute__(cls, "__dict__")
        for name, annotation in inspect.get_annotations(cls).items():
            if name.startswith("_") or _is_classvar(annotation):
                continue
            current = own.get(name, MISSING)
            info = current if isinstance(current, ColumnInfo) else (
                ColumnInfo() if current is MISSING else ColumnInfo(default=current))
            info.__set_name__(cls, name)
            infos[name] = info
            default = None if info.default is MISSING else info.default
            # A default that is a descriptor itself would bind: the ColumnInfo stays in front.
            type.__setattr__(cls, name, info if hasattr(type(default), "__get__") else default)
            fields.setdefault(name)
        cls.__linkgress_infos__ = infos
        cls.__linkgress_fields__ = tuple(fields)
        # Like pydantic: remember the namespace of a class defined inside a function, so that
        # string annotations (``from __future__ import annotations``) naming local classes
        # still resolve when the model is built later.
        frame = sys._getframe(1)
        while frame.f_code.co_name == "__init_subclass__" and frame.f_back is not None:
            frame = frame.f_back
        if frame.f_locals is not frame.f_globals:
            cls.__linkgress_localns__ = dict(frame.f_locals)

    def __init__(self, **values: Any) -> None:
        allowed = self.__linkgress_fields__
        for key in values:
            if key not in allowed:
                raise TypeError(f"{type(self).__name__}() got an unexpected field {key!r}")
        for key, value in values.items():
            # One attribute at a time (not through ``__dict__``): the object keeps CPython's
            # compact inline attribute layout.
            setattr(self, key, value)

    def __repr__(self) -> str:
        fields = self.__linkgress_fields__
        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k in fields)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__linkgress_fields__)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value, like dataclasses
