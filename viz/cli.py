"""`python -m viz`: draw an expression's graph from the command line.

    python -m viz "tanh(x*w + b)" x=1.5 w=-0.5 b=0.2 --out graph.svg --mode backward

The expression is parsed (viz.expr), never run as Python. Its output is back-propagated,
so the backward and both modes show real gradients. Without --out the DOT source is
printed. Exit codes: 0 done, 2 bad usage or expression (one line on stderr, no file
written), 1 rendering or writing failed.
"""

from __future__ import annotations

import argparse
import sys

from .dot import MODES
from .expr import ALLOWED, ExpressionError, check_name, parse


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise _UsageError(message)


def _parser():
    p = _Parser(
        prog="python -m viz",
        description="Draw the computational graph of an expression, with values and gradients.",
        epilog=f"The expression may use {ALLOWED}. "
        'Example: python -m viz "tanh(x*w + b)" x=1.5 w=-0.5 b=0.2 --out graph.svg',
    )
    p.add_argument("expression", help='e.g. "tanh(x*w + b)"')
    p.add_argument("values", nargs="*", metavar="NAME=NUMBER", help="a value for each name")
    p.add_argument("-o", "--out", help="file to write: .svg, .png or .pdf "
                   "(default: print the DOT source)")
    p.add_argument("-m", "--mode", choices=MODES, default="both",
                   help="what to show (default: both)")
    return p


def _assignments(items):
    values = {}
    for item in items:
        name, sep, number = item.partition("=")
        if not sep:
            raise ExpressionError(f"{item!r} is not NAME=NUMBER (e.g. x=1.5)")
        check_name(name.strip())
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"{item!r}: {number!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(f"{item!r}: the value must be a finite number")
        if name.strip() in values:
            raise ExpressionError(f"{name.strip()} is given twice")
        values[name.strip()] = value
    return values


_OPTIONS_WITH_VALUE = ("-o", "--out", "-m", "--mode")


def _options_first(argv):
    """argv with the options first and the rest after "--", so that an expression that
    starts with a minus ("-x**2") is not taken for an option."""
    options, rest, i = [], [], 0
    while i < len(argv):
        item = argv[i]
        if item == "--":
            rest.extend(argv[i + 1 :])
            break
        if item in _OPTIONS_WITH_VALUE:
            options.extend(argv[i : i + 2])
            i += 2
            continue
        (options if item == "-h" or item.startswith("--") else rest).append(item)
        i += 1
    return options + ["--"] + rest


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(_options_first(argv))
        if args.out is not None:
            from .render import image_format

            image_format(args.out)
        root = parse(args.expression, _assignments(args.values))
        root.backward()
    except (_UsageError, ExpressionError, ValueError) as error:
        print(f"python -m viz: error: {_one_line(error)}", file=sys.stderr)
        return 2
    from .dot import draw_dot

    graph = draw_dot(root, mode=args.mode)
    if args.out is None:
        print(graph.source)
        return 0
    from .render import render

    try:
        path = render(graph, args.out)
    except (OSError, RuntimeError) as error:
        print(f"python -m viz: error: {_one_line(error)}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _one_line(error) -> str:
    return " ".join(str(error).split())
