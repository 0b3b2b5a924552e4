"""Per-lambda plans: ``where(lambda u: u.id == i)`` evaluated once per lambda *and* closure
types, then replayed with new closure values.

A repeated ``db.users.where(lambda u: u.id == i).first_or_none()`` evaluates the same lambda
code with a different ``i`` each time. The expression tree it builds has the same shape every
time, and ``i`` ends up as a bind parameter unchanged. A :class:`LambdaPlan` records that: the
tree built on the first call (the *template*) and, for each of its parameters, which closure
cell it came from. Later calls with the same code and the same closure value types skip the
lambda, the tree walk and the shape key; they read the cells and bind them.

A plan is only made when that replay is provably what evaluating the lambda would do:

- the lambda is a plain function of one argument, without defaults, whose bytecode is straight
  line (no jumps, no globals, no nested functions) and in which closure values and constants
  only ever meet the proxy side (``u.col == x``, ``u.col.between(x, y)``), never each other
  nor an attribute or call of their own (``x + 1``, ``x.strip()``, ``f(x)`` disqualify it);
- every closure value is an immutable scalar (int, str, float, Decimal, bool, UUID, dates,
  bytes, None), the non-None ones are pairwise distinct objects, and each becomes exactly one
  parameter *unchanged* (by identity), every other parameter being one of the code's constants;
- no enum or JSON column takes part (their parameters are checked or converted by value).

Closure value *types* are part of the plan's key, so ``i = None`` (``IS NULL``) and
``i = 1.5`` (a ``numeric`` cast) get plans of their own. Anything else takes the general path.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import dis
import sys
import types
import uuid
from collections.abc import Sequence
from typing import Any

from linkgress.query.expressions import (
    Between,
    BinaryOp,
    Func,
    IsNull,
    Like,
    Param,
    UnaryOp,
)
from linkgress.query.proxies import ColumnRef

__all__ = ["LambdaPlan", "Recipe", "closure_values", "constant_lambda", "make_plan",
           "make_recipe", "plan_key", "replay"]

_SCALARS = frozenset({int, str, float, bool, decimal.Decimal, uuid.UUID, _dt.datetime,
                      _dt.date, _dt.time, _dt.timedelta, bytes, type(None)})
_NEUTRAL = frozenset({"RESUME", "NOP", "CACHE", "COPY_FREE_VARS", "PRECALL", "KW_NAMES",
                      "EXTENDED_ARG"})
_PROXY_OPS = frozenset({"COMPARE_OP", "BINARY_OP"})
_UNARY = frozenset({"UNARY_INVERT", "UNARY_NEGATIVE"})
# From Python 3.12, LOAD_ATTR with the low bit of its argument set loads a method (2 items).
_METHOD_FLAG = sys.version_info >= (3, 12)
_CODE_OK: dict[types.CodeType, bool] = {}
_CODE_LIMIT = 4096


def _straight_line(code: types.CodeType) -> bool:
    """True when ``code`` only combines values with proxy-derived operands (see module doc)."""
    if (code.co_argcount != 1 or code.co_kwonlyargcount or code.co_posonlyargcount
            or code.co_nlocals != 1 or code.co_flags & 0x0C):  # *args / **kwargs
        return False
    stack: list[bool] = []  # True: derived from the proxy argument
    try:
        for ins in dis.get_instructions(code):
            name = ins.opname
            if name == "RETURN_VALUE":
                return bool(stack.pop()) and not stack
            if name not in _NEUTRAL and not _step(stack, name, ins.arg or 0):
                return False
    except IndexError:
        return False
    return False


def _step(stack: list[bool], name: str, arg: int) -> bool:
    """Apply one instruction to ``stack``; False when it disqualifies the lambda."""
    if name == "LOAD_FAST" and arg == 0:
        stack.append(True)
    elif name in ("LOAD_DEREF", "LOAD_CONST"):
        stack.append(False)
    elif name in ("LOAD_ATTR", "LOAD_METHOD"):
        if not stack.pop():
            return False
        stack.append(True)
        if name == "LOAD_METHOD" or (_METHOD_FLAG and arg & 1):
            stack.append(True)
    elif name in _PROXY_OPS:
        right, left = stack.pop(), stack.pop()
        if not (left or right):
            return False
        stack.append(True)
    elif name in _UNARY:
        return stack[-1]
    elif name == "CALL":
        del stack[len(stack) - arg:]
        callee = stack.pop()
        self_or_null = stack.pop()
        if not (callee and self_or_null):
            return False
        stack.append(True)
    else:
        return False
    return True


def _code_ok(code: types.CodeType) -> bool:
    ok = _CODE_OK.get(code)
    if ok is None:
        if len(_CODE_OK) >= _CODE_LIMIT:
            _CODE_OK.clear()
        ok = _CODE_OK[code] = _straight_line(code)
    return ok


def constant_lambda(fn: Any) -> bool:
    """True when ``fn`` (a sort key lambda) builds the same tree on every call: a plain
    function of one argument without closure or defaults whose bytecode only reads the proxy
    (``lambda p: p.views``, ``lambda p: p.name.desc()``)."""
    return (type(fn) is types.FunctionType and fn.__closure__ is None
            and fn.__defaults__ is None and fn.__kwdefaults__ is None and _code_ok(fn.__code__))


def closure_values(predicate: Any) -> tuple[Any, ...] | None:
    """The closure cell values of ``predicate`` when it may have a plan, else None."""
    if type(predicate) is not types.FunctionType or predicate.__defaults__ is not None \
            or predicate.__kwdefaults__ is not None:
        return None
    cells = predicate.__closure__
    if cells is None:
        return ()
    try:
        return tuple([cell.cell_contents for cell in cells])  # (a list: no generator frame)
    except ValueError:  # an empty cell: let the lambda raise its NameError
        return None


def plan_key(predicate: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a plan is cached by: the code object and the closure value types."""
    return (predicate.__code__, *map(type, values))


#: How a compiled statement's parameters are bound again: per parameter ``(i, None)``, the
#: ``i``-th value given to :func:`replay`, or ``(-1, value)``, a constant.
Recipe = tuple[tuple[int, Any], ...]


def make_recipe(params: list[Any], numbers: dict[int, int], indexes: dict[int, int]) -> Recipe:
    """The recipe of a statement whose parameters were ``params``, numbered by ``id(Param)``
    in ``numbers``: a parameter whose id is in ``indexes`` is bound from that value index,
    any other is a constant."""
    recipe: list[tuple[int, Any]] = [(-1, value) for value in params]
    for param_id, index in indexes.items():
        number = numbers.get(param_id)
        if number is not None:
            recipe[number - 1] = (index, None)
    return tuple(recipe)


def replay(recipe: Recipe, values: Sequence[Any]) -> list[Any]:
    """The parameters of a statement from its ``recipe`` and this call's ``values``."""
    return [values[i] if i >= 0 else v for i, v in recipe]


class LambdaPlan:
    """A template condition and, per parameter of it, the closure cell it is bound from."""

    __slots__ = ("cells", "condition", "entries")

    def __init__(self, condition: Any, cells: dict[int, int]) -> None:
        #: The condition the lambda returned on its first evaluation.
        self.condition = condition
        #: ``id(Param) -> cell index`` for the template's closure-bound parameters.
        self.cells = cells
        #: Compiled statements with their parameter recipes (filled by the callers): reads by
        #: ``(kind, limit or None, builder steps)``, writes by ``(verb, *SET attributes)``.
        self.entries: dict[Any, Any] = {}

    def rebuild(self, values: tuple[Any, ...]) -> tuple[Any, dict[int, int]]:
        """The condition with ``values`` bound; and ``id(new Param) -> cell index``."""
        made: dict[int, int] = {}
        return _clone(self.condition, self.cells, values, made), made


def _clone(node: Any, cells: dict[int, int], values: tuple[Any, ...],
           made: dict[int, int]) -> Any:
    kind = type(node)
    if kind is Param:
        index = cells.get(id(node))
        if index is None:
            return node  # a constant of the lambda
        new = Param(values[index], node.cast, node.category)
        made[id(new)] = index
        return new
    if kind is ColumnRef:
        return node
    if kind is BinaryOp:
        return BinaryOp(node.op, _clone(node.left, cells, values, made),
                        _clone(node.right, cells, values, made), node.category)
    if kind is UnaryOp:
        return UnaryOp(node.op, _clone(node.operand, cells, values, made), node.category)
    if kind is IsNull:
        return IsNull(_clone(node.operand, cells, values, made), node.negated)
    if kind is Between:
        return Between(*(_clone(n, cells, values, made)
                         for n in (node.operand, node.low, node.high)))
    if kind is Like:
        return Like(_clone(node.operand, cells, values, made),
                    _clone(node.pattern, cells, values, made), node.op)
    assert kind is Func, kind
    return Func(node.name, tuple(_clone(a, cells, values, made) for a in node.args),
                node.category, node.star, node.distinct)


def _children(node: Any) -> tuple[Any, ...] | None:
    """The child nodes of a node type plans support; None for any other node."""
    kind = type(node)
    if kind is Param or kind is ColumnRef:
        return ()
    if kind is BinaryOp:
        return (node.left, node.right)
    if kind is UnaryOp or kind is IsNull:
        return (node.operand,)
    if kind is Between:
        return (node.operand, node.low, node.high)
    if kind is Like:
        return (node.operand, node.pattern)
    if kind is Func:
        return node.args  # type: ignore[no-any-return]
    return None


def make_plan(predicate: Any, values: tuple[Any, ...], condition: Any) -> LambdaPlan | None:
    """A plan for ``predicate`` (closure ``values``) that returned ``condition``, or None
    when replaying it could differ from evaluating the lambda."""
    if not _code_ok(predicate.__code__):
        return None
    bound = [v for v in values if v is not None]
    if any(type(v) not in _SCALARS for v in values) or len({id(v) for v in bound}) != len(bound):
        return None
    by_identity = {id(v): i for i, v in enumerate(values) if v is not None}
    constants = {id(c) for c in predicate.__code__.co_consts}
    cells: dict[int, int] = {}
    used: set[int] = set()
    pending = [condition]
    while pending:
        node = pending.pop()
        children = _children(node)
        if children is None:
            return None
        pending.extend(children)
        if type(node) is ColumnRef and node.category in ("enum", "json"):
            return None
        if type(node) is Param:
            index = by_identity.get(id(node.value))
            if index is None:
                if id(node.value) not in constants:
                    return None
            elif index in used or id(node.value) in constants:
                return None
            else:
                used.add(index)
                cells[id(node)] = index
    if len(used) != len(bound):
        return None
    return LambdaPlan(condition, cells)
