"""`python -m viz`: draw an expression's graph from the command line.

    python -m viz "tanh(x*w + b)" x=1.5 w=-0.5 b=0.2 --out graph.svg --mode backward

The expression is parsed (viz.expr), never run as Python. Its output is back-propagated,
so the backward and both modes show real gradients. Without --out the DOT source is
printed. The first argument that is not an option is the expression, even when it starts
with a minus ("-x**2"); "--" before it works too. Exit codes: 0 done, 2 bad usage,
expression or values (one line on stderr, no file written), 1 rendering or writing failed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from .dot import MODES
from .expr import ALLOWED, ExpressionError, check_name, parse

PROG = "python -m viz"
EXAMPLE = f'{PROG} "tanh(x*w + b)" x=1.5 w=-0.5 b=0.2 --out graph.svg'
OPTIONS = "-o/--out FILE, -m/--mode {" + ",".join(MODES) + "} and -h/--help"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        if "required" in message:  # nothing but options
            message = f"no expression to draw; give one, e.g. {EXAMPLE}"
        elif "invalid choice" not in message:
            message += f"; the options are {OPTIONS}"
        raise _UsageError(message)


def _parser():
    p = _Parser(
        prog=PROG,
        allow_abbrev=False,  # _arrange must know every spelling of an option
        description="Draw the computational graph of an expression, with values and gradients.",
        epilog=f"The expression may use {ALLOWED}; it may start with a minus (\"-x**2\"). "
        f"Example: {EXAMPLE}",
    )
    p.add_argument("expression", help='e.g. "tanh(x*w + b)"')
    p.add_argument("values", nargs="*", metavar="NAME=NUMBER", help="a value for each name")
    p.add_argument("-o", "--out", help="file to write: .svg, .png or .pdf "
                   "(default: print the DOT source)")
    p.add_argument("-m", "--mode", choices=MODES, default="both",
                   help="what to show (default: both)")
    return p


_WITH_VALUE = {"-o": "--out", "--out": "--out", "-m": "--mode", "--mode": "--mode"}


def _arrange(argv):
    """argv as argparse should see it: the options, then "--", then the expression and the
    values. The first argument that is not an option (or an option's value) is the
    expression, so "--x" or "-x**2 + y" is read as one. After it, anything starting with
    "-" is an option: a value is NAME=NUMBER and never does."""
    options, positional, i = [], [], 0
    while i < len(argv):
        item = argv[i]
        if item == "--":
            positional.extend(argv[i + 1 :])
            break
        if item in _WITH_VALUE and i + 1 < len(argv):
            options.append(f"{_WITH_VALUE[item]}={argv[i + 1]}")  # the value may start with -
            i += 2
            continue
        known = item in ("-h", "--help") or item.partition("=")[0] in ("--out", "--mode")
        if known or (positional and item.startswith("-") and item != "-") or item in _WITH_VALUE:
            options.append(item)
        else:
            positional.append(item)
        i += 1
    return options + ["--"] + positional


def _short(text, limit=40):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _assignments(items):
    values = {}
    for item in items:
        name, sep, number = item.partition("=")
        name = name.strip()
        if not sep:
            raise ExpressionError(f"{_short(item)!r} is not NAME=NUMBER; write e.g. x=1.5")
        check_name(name)
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(
                f"{name}={_short(number)!r} is not a number; write e.g. {name}=1.5"
            ) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(
                f"{name}={_short(number)} is not a finite float; give a number between "
                "-1.8e308 and 1.8e308, e.g. 1e300"
            )
        if name in values:
            raise ExpressionError(f"{name} is given twice; give each name one value")
        values[name] = value
    return values


def _check_out(path):
    """Refuse an --out that cannot be written, before anything is computed."""
    from .render import image_format

    image_format(path)
    if os.path.isdir(path):
        raise _UsageError(f"--out {path!r} is a directory; give a file name such as "
                          f"{os.path.join(path, 'graph.svg')!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise _UsageError(f"--out {path!r}: the directory {directory!r} does not exist; "
                          "create it first or write somewhere else")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise _UsageError(f"--out {path!r}: the directory {directory!r} is not writable; "
                          "choose a directory you can write to")


_LIKE_AN_OPTION = re.compile(r"--?[A-Za-z][\w-]*(=.*)?", re.DOTALL)


def _read(args):
    """The expression's output Value, back-propagated; usage errors raise."""
    try:
        root = parse(args.expression, _assignments(args.values))
    except ExpressionError as error:
        if _LIKE_AN_OPTION.fullmatch(args.expression):  # "--moed": a mistyped option?
            raise _UsageError(
                f"{_short(args.expression)!r} is not an option (the options are {OPTIONS}); "
                f"read as the expression: {error}"
            ) from None
        raise
    except ArithmeticError as error:  # a number too large for a float, e.g. 400 digits
        raise ExpressionError(
            f"a number in the expression is too large for a float ({error}); use numbers "
            "between -1.8e308 and 1.8e308, e.g. 1e300"
        ) from None
    try:
        root.backward()
    except (ArithmeticError, ValueError) as error:  # the engine's message names the op
        raise ExpressionError(
            f"{error}; the backward pass needs values where every derivative is finite: "
            "choose other values"
        ) from None
    return root


def _run(argv) -> int:
    try:
        args = _parser().parse_args(_arrange(argv))
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except _UsageError as error:
        return _fail(error, 2)
    try:
        if args.out is not None:
            _check_out(args.out)
        root = _read(args)
    except (_UsageError, ValueError) as error:
        return _fail(error, 2)
    from .dot import draw_dot

    graph = draw_dot(root, mode=args.mode)
    if args.out is None:
        print(graph.source)
        return 0
    from .render import render

    try:
        path = render(graph, args.out)
    except (OSError, RuntimeError) as error:
        return _fail(error, 1)
    print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush cannot fail again
        return 1
    return status


def _fail(error, status) -> int:
    print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
    return status
