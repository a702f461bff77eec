"""Read an expression such as "tanh(x*w + b)" into Values, without running any Python.

The text is parsed with `ast` and only a whitelist of node types is read: numbers, names
given values by the caller, + - * / **, unary - and +, parentheses, and calls of the
engine's functions by name (those of the op table, `autograd.ops.FUNCTIONS`). Anything
else (attributes, strings, subscripts, lambdas, keywords, comprehensions, ...) is refused
with an ExpressionError naming it. Nothing is ever passed to eval, exec or compile-and-run.
"""

from __future__ import annotations

import ast
import contextlib
import keyword
import math
import operator
import sys

from autograd import Value, ops

MAX_LENGTH = 2000  # characters; a CLI expression is short, and this bounds the work

FUNCTIONS = ops.FUNCTIONS
_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_WHAT = {
    ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing (a[b])",
    ast.Lambda: "lambda", ast.IfExp: "if-else", ast.Compare: "comparison",
    ast.BoolOp: "and/or", ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict",
    ast.Set: "set", ast.ListComp: "comprehension", ast.GeneratorExp: "generator",
    ast.DictComp: "comprehension", ast.SetComp: "comprehension", ast.JoinedStr: "f-string",
    ast.NamedExpr: "assignment (:=)", ast.Starred: "*unpacking", ast.Await: "await",
    ast.Yield: "yield", ast.Slice: "slice",
}
ALLOWED = "numbers, names, + - * / **, parentheses and " + ", ".join(sorted(FUNCTIONS))


class ExpressionError(ValueError):
    """The expression uses something outside the whitelist, or cannot be computed."""


def check_name(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name in FUNCTIONS:
        reason = "is a function name" if name in FUNCTIONS else "is not a valid name"
        raise ExpressionError(f"{name!r} {reason}; use a name like x, w1 or bias")
    return name


def parse(source: str, variables: dict[str, float]) -> Value:
    """The Value `source` computes, with each name a leaf Value labelled by its name.

    Numbers stay plain numbers (so ``x ** 2`` is a power by a constant); a name used
    twice is the same leaf, so its gradient sums both uses.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"the expression must be text, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source)} characters; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"not a valid expression: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"not a valid expression: {error}") from None
    leaves = {name: Value(float(v), label=check_name(name)) for name, v in variables.items()}
    reader = _Reader(leaves)
    # MAX_LENGTH bounds the nesting (x*x*...*x is a chain of ~1000 nodes), so a recursion
    # limit with room for it is safe, and lets the reader below be a plain recursive walk.
    with _recursion_limit(4 * MAX_LENGTH):
        out = reader.read(tree.body)
    unused = sorted(set(reader.leaves) - reader.used)
    if unused:
        raise ExpressionError(f"{', '.join(unused)} given but not used in the expression")
    return out if isinstance(out, Value) else Value(out)


@contextlib.contextmanager
def _recursion_limit(at_least):
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, at_least))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


class _Reader:
    """Computes an expression's tree node by node; each kind of node has one method."""

    def __init__(self, leaves):
        self.leaves = leaves  # name -> leaf Value
        self.used = set()

    def read(self, node):
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _WHAT.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} is not allowed in an expression; use {ALLOWED}")

    def number(self, node):
        value = node.value
        if type(value) not in (int, float):
            kind = "a string" if isinstance(value, str) else repr(value)
            raise ExpressionError(f"{kind} is not allowed in an expression; use {ALLOWED}")
        try:
            number = float(value)
        except OverflowError:  # an integer literal of hundreds of digits
            number = math.inf
        if not math.isfinite(number):
            shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:12]}…"
            raise ExpressionError(
                f"the number {shown} is too large for a float; use numbers between "
                "-1.8e308 and 1.8e308"
            )
        return number

    def name(self, node):
        if node.id not in self.leaves:
            hint = (f"{node.id} is a function: call it, {node.id}(x)"
                    if node.id in FUNCTIONS else f"give it a value: {node.id}=1.0")
            raise ExpressionError(f"unknown name {node.id!r}; {hint}")
        self.used.add(node.id)
        return self.leaves[node.id]

    def binary(self, node):
        kind = type(node.op)
        if kind not in _OPERATORS:
            raise ExpressionError(
                f"the operator {kind.__name__} is not allowed; use {ALLOWED}"
            )
        a, b = self.read(node.left), self.read(node.right)
        out = _compute(_OPERATORS[kind], a, b)
        if isinstance(out, complex):  # (-8) ** 0.5 with two plain numbers
            raise ExpressionError(f"{a!r} {_SYMBOLS[kind]} {b!r} is not a real number")
        return out

    def unary(self, node):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(
                f"the operator {type(node.op).__name__} is not allowed; use {ALLOWED}"
            )
        a = self.read(node.operand)
        return _compute(operator.neg, a) if isinstance(node.op, ast.USub) else a

    def call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        op = FUNCTIONS.get(name)
        if op is None:
            what = f"calling {name!r}" if name else "calling anything but a function name"
            raise ExpressionError(
                f"{what} is not allowed; the functions are {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments")
        if not 1 <= len(node.args) <= (2 if op.param_name else 1):
            takes = "one argument"
            if op.param_name:
                takes = f"one or two arguments (x, {op.param_name})"
            raise ExpressionError(f"{name}() takes {takes}, got {len(node.args)}")
        x, *params = [self.read(arg) for arg in node.args]
        if any(isinstance(p, Value) for p in params):
            raise ExpressionError(f"{name}'s {op.param_name} must be a number, not a variable")
        x = x if isinstance(x, Value) else Value(x)
        method = abs if op is ops.ABS else getattr(Value, op.method)
        return _compute(method, x, *params)


def _compute(fn, *args):
    try:
        return fn(*args)
    except OverflowError as error:
        detail = error if isinstance(error.args[0], str) else "a result overflows a float"
        raise ExpressionError(f"cannot compute the expression: {detail}") from None
    except (ArithmeticError, ValueError) as error:
        raise ExpressionError(f"cannot compute the expression: {error}") from None
