"""Every place that lists ops reads the op table: adding an op is one entry plus its tests."""

import ast
import inspect
import math

import pytest
from op_cases import CASES

from autograd import Value, ops
from viz import expr
from viz.names import expression


@pytest.mark.parametrize("key", sorted(ops.FUNCTIONS))
def test_every_named_op_is_a_value_method_the_cli_and_the_plots_offer(key):
    op = ops.FUNCTIONS[key]
    x = Value(0.7)
    out = abs(x) if op is ops.ABS else getattr(x, op.method)()
    assert out.grad_fn is op and out.parents == (x,)
    assert expr.parse(f"{key}(x)", {"x": 0.7}).grad_fn is op
    pytest.importorskip("matplotlib")
    from viz import plots

    assert key in plots.UNARY


def test_the_lists_are_the_table_itself():
    assert expr.FUNCTIONS is ops.FUNCTIONS
    assert set(ops.FUNCTIONS) == {op.method for op in ops.OPS.values() if op.method} | {"abs"}


def test_the_methods_declared_for_type_checkers_are_the_generated_ones():
    """Value's function methods are made from the table at import; `class Value` declares
    them under ``if TYPE_CHECKING:`` for mypy. The two lists must not drift apart."""
    from autograd import value

    tree = ast.parse(inspect.getsource(value))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value"]
    blocks = [
        n for n in cls.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    ]
    declared = [f.name for block in blocks for f in block.body if isinstance(f, ast.FunctionDef)]
    generated = [op.method for op in ops.FUNCTIONS.values() if op.method and not op.param_name]
    assert declared and sorted(declared) == sorted(generated)
    assert all(getattr(Value, name).__doc__.startswith(f"{name}(self)") for name in declared)


@pytest.mark.parametrize("key", sorted(ops.OPS))
def test_every_op_prints_its_rules_and_its_name_in_a_graph(key):
    op = ops.OPS[key]
    xs = [Value(0.7, label="p"), Value(1.3, label="q")][: op.arity]
    out = CASES[key].ours(*xs)
    assert out.grad_fn is op
    named = op.formulas({"x": "p", "y": "q", "out": "r"}, param=out.param)
    assert len(named) == op.arity and all(named)
    for formula in named:  # the placeholder names are gone, the graph's are in
        assert not {"x", "y", "out"} & set(formula.replace("(", " ").replace(")", " ").split())
    name = expression(out, {x: _symbol(x.label) for x in xs})
    assert name.text and all(x.label in name.text for x in xs)


def _symbol(text):
    from autograd.symbolic import Symbol

    return Symbol(text)


def test_formulas_are_the_rules_themselves():
    """A printed formula, read back as Python with the same numbers, gives the rule's value."""
    for op in ops.OPS.values():
        x, y, param = 0.7, 1.3, (2.0 if op.param_name else None)
        out = op.forward(x, y) if op.arity == 2 else op.forward(x, *[p for p in [param] if p])
        second = y if op.arity == 2 else None
        numbers = op.local_derivatives(ops.FLOAT_MATH, x, second, out, param)
        texts = op.formulas({"x": "X", "y": "Y", "out": "OUT"}, param=param)
        env = {"X": x, "Y": y, "OUT": out, "sin": math.sin, "cos": math.cos, "log": math.log,
               "sign": lambda v: math.copysign(1.0, v) if v else 0.0,
               "sigmoid": lambda v: 1 / (1 + math.exp(-v))}
        for text, number in zip(texts, numbers):
            python = (text.replace("·", "*").replace("^", "**").replace("²", "**2")
                      .replace("³", "**3"))
            assert _evaluate(python, env) == pytest.approx(number, rel=1e-12), (op.key, text)


def _evaluate(python, env):
    """Evaluate our own generated formula text (never user text) with a whitelist of names."""
    import ast

    tree = ast.parse(python, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
               ast.Call, ast.IfExp, ast.Compare, ast.Gt, ast.Lt, ast.operator, ast.unaryop)
    assert all(isinstance(node, allowed) for node in ast.walk(tree)), python
    return eval(compile(tree, "<formula>", "eval"), {"__builtins__": {}}, env)
