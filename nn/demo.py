"""The demo: micrograd's two-moons classifier, trained with a progress bar.

    python -m nn.demo [--points 100] [--epochs 100] [--seed 0] [--quiet]

Runs the engine's own demo first (``autograd.demo``, when there is one), then trains an
MLP 2-16-16-1 with hinge loss, an L2 penalty and SGD whose learning rate decays from 1.0
to 0.1, as micrograd's demo notebook does, and reports the accuracy reached.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from functools import partial

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


def train_moons(points=100, epochs=100, seed=0, quiet=False, backend="tape") -> dict:
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m nn.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100, help="training points (default 100)")
    parser.add_argument("--epochs", type=int, default=100, help="full-batch steps (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--backend", choices=["tape", "eager"], default="tape",
                        help="tape: the loss traced once, replayed over the batch with numpy "
                        "(default); eager: one scalar graph per example")
    args = parser.parse_args(argv)
    if args.points < 4 or args.epochs < 1:
        parser.error("--points must be >= 4 and --epochs >= 1")
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


if __name__ == "__main__":
    main()
