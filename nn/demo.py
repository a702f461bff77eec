"""The demo: micrograd's two-moons classifier, trained with a progress bar.

    python -m nn [--points 100] [--epochs 100] [--seed 0] [--quiet] [--backend tape]

Runs the engine's own demo first (``autograd.demo``, when there is one), then trains an
MLP 2-16-16-1 with hinge loss, an L2 penalty and SGD whose learning rate decays from 1.0
to 0.1, as micrograd's demo notebook does, and reports the accuracy reached.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

from . import MLP, Trainer, l2_penalty
from .data import make_moons, train_test_split
from .optim import SGD, LambdaLR


def _engine_demo():
    if importlib.util.find_spec("autograd.demo") is None:
        return
    demo = importlib.import_module("autograd.demo")
    if callable(getattr(demo, "main", None)):
        demo.main()
        print()


def train_moons(points: int = 100, epochs: int = 100, seed: int = 0, quiet: bool = False,
                backend: str = "tape") -> dict[str, Any]:
    """Train micrograd's classifier on ``points`` two-moons points and score it on half as
    many held-out ones; returns the model, its history, the data (X, labels ±1) and both
    accuracies."""
    X, y = make_moons(points + points // 2, noise=0.1, seed=seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, 2 * y - 1, test_size=points // 2, seed=seed
    )
    model = MLP(2, [16, 16, 1], activation="relu", seed=seed)
    optimizer = SGD(model.parameters(), lr=1.0)
    schedule = LambdaLR(optimizer, lambda k: 1.0 - 0.9 * k / epochs)
    trainer = Trainer(model, "hinge", optimizer, penalty=partial(l2_penalty, alpha=1e-4),
                      scheduler=schedule, quiet=quiet, backend=backend)
    history = trainer.fit(X_train, y_train, epochs=epochs, seed=seed)
    return {
        "model": model,
        "history": history,
        "data": (X, 2 * y - 1),
        "train_accuracy": trainer.evaluate(X_train, y_train)["accuracy"],
        "test_accuracy": trainer.evaluate(X_test, y_test)["accuracy"],
    }


MAX_POINTS = 100_000  # a demo: more takes minutes per epoch and gigabytes with --backend eager
SEEDS = 2**32  # numpy's legacy seeding range; the same number reproduces a run everywhere


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _whole(low, high, what):
    """An argparse type: a whole number in [low, high], or an error saying which ones are."""
    def check(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {what}; give a whole number from {low:,} to {high:,}"
            )
        return value
    return check


def _parser(prog):
    parser = _Parser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=_whole(4, MAX_POINTS, "a number of points"),
                        default=100, help="training points, 4 to 100,000 (default 100); half "
                        "as many more are held out for testing")
    parser.add_argument("--epochs", type=_whole(1, 10**9, "a number of epochs"), default=100,
                        help="full-batch steps, at least 1 (default 100)")
    parser.add_argument("--seed", type=_whole(0, SEEDS - 1, "a seed"), default=0,
                        help="seed for the data, the split and the initial weights, "
                        "0 to 2**32 - 1 (default 0); the same seed gives the same run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--backend", choices=["tape", "eager"], default="tape",
                        help="tape: the loss traced once, replayed over the batch with numpy "
                        "(default); eager: one scalar graph per example")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m nn.demo") -> dict[str, Any]:
    """Run the demo with command-line arguments `argv`; returns `train_moons`' result.
    A bad argument prints one line to stderr and raises SystemExit(2), as argparse does."""
    args = _parser(prog).parse_args(argv)
    _engine_demo()
    print(f"Two moons: an MLP 2-16-16-1 learns to separate {args.points} points "
          f"(hinge loss + 1e-4 L2, SGD with lr 1.0 -> 0.1, {args.epochs} full-batch steps, "
          f"{args.backend} backend)",
          flush=True)
    result = train_moons(args.points, args.epochs, args.seed, args.quiet, args.backend)
    n_params = len(result["model"].parameters())
    print(f"Accuracy reached: {result['train_accuracy']:.1%} on the {args.points} training "
          f"points, {result['test_accuracy']:.1%} on {args.points // 2} held-out points "
          f"({n_params} parameters, final loss {result['history']['loss'][-1]:.4f})")
    return result


def cli(prog: str = "python -m nn.demo", argv: Sequence[str] | None = None) -> int:
    """The command line: exit status 0 done, 2 bad usage (one line on stderr), 130 stopped
    with Ctrl-C; output piped into a reader that stops early (| head) ends quietly."""
    try:
        try:
            main(argv, prog)
            status = 0
        except SystemExit as done:  # --help, or a bad argument (already reported)
            status = done.code if isinstance(done.code, int) else int(done.code is not None)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second failure
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: stopped", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(cli())
