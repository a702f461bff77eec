"""What type checkers are told matches what runs (mypy itself runs in `make lint`)."""

import ast
import inspect

import viz


def test_viz_declares_for_type_checkers_exactly_what_it_imports_on_first_use():
    tree = ast.parse(inspect.getsource(viz))
    (block,) = [
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    ]
    declared = {
        alias.name: node.module
        for node in block.body if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert declared == viz._LAZY
