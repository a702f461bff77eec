"""One engine in its own process, driven by `run.py` through JSON lines on stdin/stdout.

    python worker.py ENGINE [--gc-off]

Each engine lives in a fresh process so that none pays for another's objects in its garbage
collections, and micrograd runs in its own virtual environment. Commands (one JSON object
per line): {"cmd": "setup", "n": 100, "sizes": [2, 16, 16, 1]}, {"cmd": "steps", "count": 10},
{"cmd": "memory"}, {"cmd": "chain", "depth": 100000}, {"cmd": "quit"}.
Only the standard library is imported here; each engine imports its own library.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc

import workload


def with_initial_parameters(model, sizes):
    """`model` with the benchmark's fixed starting weights, so every engine starts alike."""
    for p, v in zip(model.parameters(), workload.initial_parameters(sizes)):
        p.data = v
    return model


class ScalarEngine:
    """micrograd's demo step, as its README notebook writes it, on one scalar engine."""

    Value = None  # the engine's scalar class, set by each subclass's __init__

    @staticmethod
    def parents(v):
        return v.parents

    def step(self, k):
        return workload.demo_step(self.Value, self.model, self.X, self.y, k).data

    def graph(self):
        return workload.demo_step(self.Value, self.model, self.X, self.y, 0)

    def nodes(self, root):
        return workload.count_nodes(root, self.parents)

    def chain(self, depth):
        x = self.Value(0.5)
        y = x
        for _ in range(depth):
            y = y.relu()
        start = time.perf_counter()
        y.backward()
        return time.perf_counter() - start


class Micrograd(ScalarEngine):
    """micrograd 0.1.0."""

    def __init__(self, n, sizes):
        from micrograd.engine import Value
        from micrograd.nn import MLP

        self.Value = Value
        self.X, self.y = workload.moons(n)
        self.model = with_initial_parameters(MLP(sizes[0], sizes[1:]), sizes)

    @staticmethod
    def parents(v):
        return v._prev


class Eager(ScalarEngine):
    """chainrule's eager engine running micrograd's demo code on an MLP of plain Values."""

    def __init__(self, n, sizes):
        from autograd import Value

        self.Value = Value
        self.X, self.y = workload.moons(n)
        self.model = workload.PlainMLP(Value, sizes, workload.initial_parameters(sizes))


class EagerNN(Eager):
    """The same demo code with the model from chainrule's nn (nn.MLP)."""

    def __init__(self, n, sizes):
        import nn
        from autograd import Value

        self.Value = Value
        self.X, self.y = workload.moons(n)
        self.model = with_initial_parameters(nn.MLP(sizes[0], sizes[1:]), sizes)


class Tape:
    """chainrule's batched tape: the per-example hinge loss traced once, replayed with numpy."""

    def __init__(self, n, sizes):
        import numpy as np

        import nn
        from autograd.tape import trace

        X, y = workload.moons(n)
        self.X, self.y = np.array(X), np.array(y)
        self.model = with_initial_parameters(nn.MLP(sizes[0], sizes[1:]), sizes)
        self.params = self.model.parameters()
        self._trace = lambda: trace(
            lambda x, label: (1 + -label * self.model(x)).relu(),
            self.params,
            (self.X[0], self.y[0]),
            penalty=lambda: workload.ALPHA * sum(p * p for p in self.params),
        )
        self.tape = self._trace()

    def step(self, k):
        for p in self.params:
            p.grad = 0.0
        loss = self.tape.backward(self.X, self.y)
        lr = workload.learning_rate(k)
        for p in self.params:
            p.data -= lr * p.grad
        return loss

    def graph(self):
        tape = self._trace()  # a fresh tape: its program and its buffers for one batch
        tape.backward(self.X, self.y)
        return tape

    def nodes(self, tape):
        """The nodes of the eager graph of the same step, which the tape's buffers stand for."""
        from autograd import Value

        root = workload.demo_step(Value, self.model, self.X.tolist(), self.y.tolist(), 0)
        return workload.count_nodes(root, lambda v: v.parents)

    def chain(self, depth):
        return None


class Fit(Tape):
    """nn's training loop with the tape backend: fit(model, X, y, loss="hinge", ...)."""

    def __init__(self, n, sizes):
        super().__init__(n, sizes)
        import nn

        self.trainer = nn.Trainer(
            self.model, "hinge", nn.optim.SGD(self.params, lr=1.0),
            penalty=lambda model: workload.ALPHA * sum(p * p for p in model.parameters()),
            backend="tape", quiet=True, metric=None,
        )

    def step(self, k):
        self.trainer.optimizer.param_groups[0]["lr"] = workload.learning_rate(k)
        return self.trainer.fit(self.X, self.y, epochs=1, shuffle=False)["loss"][-1]


class Torch:
    """PyTorch, one thread, float64: the same MLP as matrices."""

    def __init__(self, n, sizes):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        X, y = workload.moons(n)
        self.X = torch.tensor(X, dtype=torch.float64)
        self.y = torch.tensor(y, dtype=torch.float64)
        flat, self.layers = workload.initial_parameters(sizes), []
        start = 0
        for nin, nout in zip(sizes, sizes[1:]):
            block = torch.tensor(flat[start : start + nout * (nin + 1)], dtype=torch.float64)
            block = block.reshape(nout, nin + 1)
            start += nout * (nin + 1)
            self.layers.append((block[:, :nin].clone().requires_grad_(),
                                block[:, nin].clone().requires_grad_()))
        self.params = [t for layer in self.layers for t in layer]

    def scores(self, X):
        """The MLP's outputs for the rows of X: ReLU layers, the last one linear."""
        h = X
        for i, (W, b) in enumerate(self.layers):
            h = h @ W.T + b
            h = h.relu() if i < len(self.layers) - 1 else h
        return h

    def hinge(self, X, y):
        return (1 - y * self.scores(X)[:, 0]).relu().mean()

    def step(self, k):
        data_loss = self.hinge(self.X, self.y)
        total = data_loss + workload.ALPHA * sum((p * p).sum() for p in self.params)
        for p in self.params:
            p.grad = None
        total.backward()
        lr = workload.learning_rate(k)
        with self.torch.no_grad():
            for p in self.params:
                p -= lr * p.grad
        return total.item()

    def graph(self):
        return None

    def chain(self, depth):
        torch = self.torch
        x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(depth):
            y = torch.relu(y)
        start = time.perf_counter()
        y.backward()
        return time.perf_counter() - start


class TapeForwardBackward(Tape):
    """The layers table: tape.backward alone (mean hinge loss, no penalty, no update);
    gradients accumulate, as PyTorch's do below."""

    def __init__(self, n, sizes):
        super().__init__(n, sizes)
        from autograd.tape import trace

        self.tape = trace(lambda x, label: (1 + -label * self.model(x)).relu(), self.params,
                          (self.X[0], self.y[0]))
        self.targets = self.y  # as the tape takes them

    def step(self, k):
        return self.tape.backward(self.X, self.targets)


class InAVector:
    """A layers-table row with the parameters kept in a numpy vector, as PyTorch keeps
    them in tensors: tape.value_and_grad(X, targets, params=theta) reads no p.data and
    writes no p.grad. Put before a class that sets self.tape and self.targets."""

    def __init__(self, n, sizes):
        super().__init__(n, sizes)
        self.theta = self.tape.parameter_vector()

    def step(self, k):
        loss, _ = self.tape.value_and_grad(self.X, self.targets, params=self.theta)
        return loss


class TapeValueAndGrad(InAVector, TapeForwardBackward):
    pass


class TorchForwardBackward(Torch):
    """The layers table: forward and backward of the mean hinge loss, no update."""

    def step(self, k):
        loss = self.hinge(self.X, self.y)
        loss.backward()
        return loss.item()


class TapeDigits(Tape):
    """Forward + backward of the mean cross-entropy of an MLP 64-64-10 on digit-shaped data,
    each class index given as a one-hot row, as fit(backend="tape") gives cross_entropy its
    targets: one program for every class."""

    def __init__(self, n, sizes):
        import numpy as np

        import nn
        from autograd.tape import trace

        X, y = workload.digits(n)
        self.X, self.y = np.array(X), np.array(y)
        self.targets = np.eye(sizes[-1])[self.y]
        self.model = with_initial_parameters(nn.MLP(sizes[0], sizes[1:]), sizes)
        self.params = self.model.parameters()
        self.tape = trace(lambda x, target: nn.losses.cross_entropy(self.model(x), target),
                          self.params, (self.X[0], self.targets[0]))

    def step(self, k):
        return self.tape.backward(self.X, self.targets)


class TapeDigitsValueAndGrad(InAVector, TapeDigits):
    pass


class TorchDigits(Torch):
    """The same with PyTorch: F.cross_entropy on the logits, mean over the batch."""

    def __init__(self, n, sizes):
        super().__init__(n, sizes)
        X, y = workload.digits(n)
        self.X = self.torch.tensor(X, dtype=self.torch.float64)
        self.y = self.torch.tensor(y)

    def step(self, k):
        loss = self.torch.nn.functional.cross_entropy(self.scores(self.X), self.y)
        loss.backward()
        return loss.item()


FIT_LR = 0.01  # Adam's learning rate in the training table, for chainrule and PyTorch alike


class TrainLoop:
    """fit(backend="tape") as a user runs it, Adam at FIT_LR: `epochs` epochs a step, in
    one fit call, in batches of `batch` in order (None: the whole set as one batch)."""

    data, loss, batch, epochs = None, None, None, 1

    def __init__(self, n, sizes):
        import numpy as np

        import nn

        X, y = self.data(n)
        self.X, self.y = np.array(X), np.array(y)
        self.model = with_initial_parameters(nn.MLP(sizes[0], sizes[1:]), sizes)
        self.params = self.model.parameters()
        optimizer = self.optimizer_class(nn.optim.Adam)(self.params, lr=FIT_LR)
        self.trainer = nn.Trainer(self.model, self.loss, optimizer, backend="tape",
                                  quiet=True, metric=None)

    @staticmethod
    def optimizer_class(adam):
        return adam

    def step(self, k):
        history = self.trainer.fit(self.X, self.y, epochs=self.epochs, batch_size=self.batch,
                                   shuffle=False)
        return history["loss"][-1]


def _step_by_step(adam):
    """Adam with a step of its own (the same one): it makes the trainer read and write the
    Values at every batch, as every fit did before 2026-11-30."""
    return type("AdamStepByStep", (adam,), {"step": lambda self: adam.step(self)})


class FitDigits(TrainLoop):
    """The digits (64-64-10) in batches of 32, cross_entropy: one epoch a step."""

    data, loss, batch = staticmethod(workload.digits), "cross_entropy", 32


class FitDigitsStepByStep(FitDigits):
    optimizer_class = staticmethod(_step_by_step)


class TorchAdam:
    """A PyTorch engine of the training table, with torch.optim.Adam at FIT_LR. Put before
    a Torch class."""

    def __init__(self, n, sizes):
        super().__init__(n, sizes)
        self.optimizer = self.torch.optim.Adam(self.params, lr=FIT_LR)


class TorchFitDigits(TorchAdam, TorchDigits):
    """The same training loop in PyTorch: batches of 32 in order."""

    def step(self, k):
        total = 0.0
        for lo in range(0, len(self.X), FitDigits.batch):
            X, y = self.X[lo : lo + FitDigits.batch], self.y[lo : lo + FitDigits.batch]
            self.optimizer.zero_grad()
            loss = self.torch.nn.functional.cross_entropy(self.scores(X), y)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(X)
        return total / len(self.X)


class FitWide(TrainLoop):
    """100 two-moons points, MLP 2-128-128-1, hinge loss, the whole set as one batch: 20
    epochs a step, so the parameters stay in a vector from epoch to epoch."""

    data, loss, epochs = staticmethod(workload.moons), "hinge", 20


class FitWideStepByStep(FitWide):
    optimizer_class = staticmethod(_step_by_step)


class TorchFitWide(TorchAdam, Torch):
    """The same in PyTorch: 20 full-batch steps on the mean hinge loss
    (relu(1 - y * score))."""

    def step(self, k):
        for _ in range(FitWide.epochs):
            self.optimizer.zero_grad()
            loss = self.hinge(self.X, self.y)
            loss.backward()
            self.optimizer.step()
        return loss.item()


class GPT:
    """The transformer workload (`transformer.py`): one name a step, forward, backward, Adam."""

    def __init__(self, n, sizes):
        import transformer

        self.transformer = transformer
        self.names = transformer.make_names()
        self.model = transformer.GPT(self.value_class(), transformer.initial_weights())
        self.optimizer = transformer.Adam(self.model.parameters)

    def step(self, k):
        return self.transformer.train_step(self.model, self.optimizer,
                                           self.names[k % len(self.names)])

    def graph(self):
        loss = self.model.loss(self.names[0])
        loss.backward()
        for p in self.model.parameters:
            p.grad = 0.0
        return loss

    def nodes(self, root):
        return workload.count_nodes(root, self.parents)

    def chain(self, depth):
        return None


class GPTMicrogpt(GPT):
    """The baseline: a Value in microgpt's design (`microgpt_value.py`)."""

    @staticmethod
    def value_class():
        from microgpt_value import Value

        return Value

    @staticmethod
    def parents(v):
        return v._children


class GPTEager(GPT):
    """chainrule's eager engine."""

    @staticmethod
    def value_class():
        from autograd import Value

        return Value

    @staticmethod
    def parents(v):
        return v.parents


class GPTFloor(GPT):
    """The floor (`floor_value.py`): the forward pass alone, its graph kept until the next."""

    @staticmethod
    def value_class():
        from floor_value import Value

        return Value

    def step(self, k):
        self.kept = None  # the last step's graph goes, as an engine's does after backward
        self.kept = self.model.loss(self.names[k % len(self.names)])
        return self.kept.data

    def graph(self):
        return self.model.loss(self.names[0])

    @staticmethod
    def parents(v):
        return [p for p in (v._a, v._b) if p is not None]


ENGINES = {"micrograd": Micrograd, "eager": Eager, "eager-nn": EagerNN, "tape": Tape,
           "fit-tape": Fit, "torch": Torch, "tape-fb": TapeForwardBackward,
           "torch-fb": TorchForwardBackward, "gpt-microgpt": GPTMicrogpt, "gpt-eager": GPTEager,
           "tape-digits": TapeDigits, "torch-digits": TorchDigits,
           "tape-vg": TapeValueAndGrad, "tape-digits-vg": TapeDigitsValueAndGrad,
           "gpt-floor": GPTFloor, "fit-digits": FitDigits,
           "fit-digits-stepwise": FitDigitsStepByStep, "torch-fit-digits": TorchFitDigits,
           "fit-wide": FitWide, "fit-wide-stepwise": FitWideStepByStep,
           "torch-fit-wide": TorchFitWide}


def main():
    name, gc_off = sys.argv[1], "--gc-off" in sys.argv[2:]
    engine, k = None, 0
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "setup":
                engine, k = ENGINES[name](msg["n"], msg["sizes"]), 0
                reply = {"ok": True}
            elif cmd == "steps":
                times, loss = [], None
                for _ in range(msg["count"]):
                    if gc_off:
                        gc.disable()
                    start = time.perf_counter()
                    loss = engine.step(k)
                    times.append(time.perf_counter() - start)
                    k += 1
                    if gc_off:  # free the step's garbage outside the timed region
                        gc.enable()
                        gc.collect()
                reply = {"times": times, "loss": loss, "step": k}
            elif cmd == "memory":
                reply = _memory(engine)
            elif cmd == "chain":
                gc.collect()
                reply = {"seconds": engine.chain(msg["depth"])}
            elif cmd == "quit":
                return
            else:
                reply = {"error": f"unknown command {cmd!r}"}
        except RecursionError:
            reply = {"error": "RecursionError"}
        except Exception as error:  # reported to run.py, which shows it in its table
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


def _memory(engine):
    """Bytes the step's graph holds, per graph node (tracemalloc, after forward+backward)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root = engine.graph()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    if root is None:
        return {"bytes": None, "nodes": None}
    return {"bytes": held, "nodes": engine.nodes(root)}


if __name__ == "__main__":
    main()
