"""Read an expression such as "tanh(x*w + b)" into Values, without running any Python.

The text is parsed with `ast` and only a whitelist of node types is walked: numbers,
names given values by the caller, + - * / **, unary - and +, parentheses, and calls of
the engine's functions by name. Anything else (attributes, strings, subscripts, lambdas,
keywords, comprehensions, ...) is refused with an ExpressionError naming it. Nothing
is ever passed to eval, exec or compile-and-run.
"""

from __future__ import annotations

import ast
import keyword
import math

from autograd import Value

MAX_LENGTH = 2000  # characters; a CLI expression is short, and this bounds the work

FUNCTIONS = {
    "exp": 1, "log": 1, "sqrt": 1, "tanh": 1, "sigmoid": 1, "relu": 1, "softplus": 1,
    "sin": 1, "cos": 1, "abs": 1, "leaky_relu": 2,
}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
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


def _refuse(node):
    what = _WHAT.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} is not allowed in an expression; use {ALLOWED}")


def _number(node):
    value = node.value
    if type(value) not in (int, float):
        kind = "a string" if isinstance(value, str) else repr(value)
        raise ExpressionError(f"{kind} is not allowed in an expression; use {ALLOWED}")
    value = float(value)
    if not math.isfinite(value):
        raise ExpressionError(f"the number {node.value!r} is too large for a float")
    return value


def _check_call(node):
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        what = (f"calling {node.func.id!r}" if isinstance(node.func, ast.Name)
                else "calling anything but a function name")
        raise ExpressionError(
            f"{what} is not allowed; the functions are {', '.join(sorted(FUNCTIONS))}"
        )
    if node.keywords:
        raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
    arity = FUNCTIONS[node.func.id]
    if not 1 <= len(node.args) <= arity:
        takes = "one argument" if arity == 1 else "one or two arguments (x, slope)"
        raise ExpressionError(f"{node.func.id}() takes {takes}, got {len(node.args)}")


def _apply(name, args):
    x = args[0] if isinstance(args[0], Value) else Value(args[0])
    if name == "abs":
        return abs(x)
    if name == "leaky_relu" and len(args) == 2:
        if isinstance(args[1], Value):
            raise ExpressionError("leaky_relu's slope must be a number, not a variable")
        return x.leaky_relu(args[1])
    return getattr(x, name)()


def _binary(op, a, b):
    if op is ast.Add:
        out = a + b
    elif op is ast.Sub:
        out = a - b
    elif op is ast.Mult:
        out = a * b
    elif op is ast.Div:
        out = a / b
    else:
        out = a**b
    if isinstance(out, complex):  # (-8) ** 0.5 with two plain numbers
        raise ExpressionError(f"{a!r} {_BINARY[op]} {b!r} is not a real number")
    return out


def parse(source: str, variables: dict) -> Value:
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
    used = set()
    # Post-order walk with an explicit stack, so deep expressions cannot overflow Python's.
    stack, results = [(tree.body, False)], []
    while stack:
        node, ready = stack.pop()
        kind = type(node)
        if not ready:
            if kind is ast.Constant:
                results.append(_number(node))
            elif kind is ast.Name:
                if node.id not in leaves:
                    hint = (f"{node.id} is a function: call it, {node.id}(x)"
                            if node.id in FUNCTIONS else f"give it a value: {node.id}=1.0")
                    raise ExpressionError(f"unknown name {node.id!r}; {hint}")
                used.add(node.id)
                results.append(leaves[node.id])
            elif kind is ast.BinOp and type(node.op) in _BINARY:
                stack += [(node, True), (node.right, False), (node.left, False)]
            elif kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
                stack += [(node, True), (node.operand, False)]
            elif kind is ast.Call:
                _check_call(node)
                stack.append((node, True))
                stack += [(arg, False) for arg in reversed(node.args)]
            elif kind in (ast.BinOp, ast.UnaryOp):
                op = type(node.op).__name__
                raise ExpressionError(f"the operator {op} is not allowed; use {ALLOWED}")
            else:
                _refuse(node)
            continue
        try:
            if kind is ast.BinOp:
                b, a = results.pop(), results.pop()
                results.append(_binary(type(node.op), a, b))
            elif kind is ast.UnaryOp:
                a = results.pop()
                results.append(-a if isinstance(node.op, ast.USub) else a)
            else:
                args = [results.pop() for _ in node.args][::-1]
                results.append(_apply(node.func.id, args))
        except OverflowError as error:
            detail = error if isinstance(error.args[0], str) else "a result overflows a float"
            raise ExpressionError(f"cannot compute the expression: {detail}") from None
        except (ArithmeticError, ValueError) as error:
            raise ExpressionError(f"cannot compute the expression: {error}") from None
    unused = sorted(set(leaves) - used)
    if unused:
        raise ExpressionError(f"{', '.join(unused)} given but not used in the expression")
    out = results.pop()
    return out if isinstance(out, Value) else Value(out)
