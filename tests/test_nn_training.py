"""The training loop: history, progress bar and quiet mode, callbacks, backends, the demo."""

import functools
from functools import partial

import numpy as np
import pytest

import nn
from autograd import TraceError, Value, is_grad_enabled
from nn import (
    MLP,
    Callback,
    Dropout,
    EarlyStopping,
    Layer,
    Module,
    Sequential,
    Trainer,
    backends,
    data,
    fit,
    l2_penalty,
    losses,
    optim,
)
from nn.losses import mse_loss
from nn.optim import LambdaLR


def moons(n=40, seed=0):
    X, y = data.make_moons(n, noise=0.1, seed=seed)
    return X, 2 * y - 1


@pytest.mark.slow
def test_micrograds_demo_reaches_97_percent():
    # micrograd's demo.ipynb: 100 two-moons points, MLP 2-16-16-1, hinge loss + 1e-4 L2,
    # 100 full-batch steps of SGD at lr 1.0 - 0.9 k/100. About 66k graph nodes per step.
    X, y = data.make_moons(100, noise=0.1, seed=1337)
    y = 2 * y - 1
    model = MLP(2, [16, 16, 1], init="uniform", seed=1337)  # micrograd's U(-1, 1) weights
    opt = optim.SGD(model.parameters(), lr=1.0)
    trainer = Trainer(model, "hinge", opt, penalty=partial(l2_penalty, alpha=1e-4),
                      scheduler=LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100), quiet=True)
    history = trainer.fit(X, y, epochs=100, shuffle=False)
    assert len(history["loss"]) == 100
    assert history["lr"][0] == 1.0 and history["lr"][-1] == pytest.approx(0.109)
    assert history["loss"][-1] < history["loss"][0]
    assert trainer.evaluate(X, y)["accuracy"] >= 0.97


def test_history_has_one_entry_per_epoch_and_the_loss_falls():
    X, y = moons()
    X_val, y_val = moons(20, seed=1)
    model = MLP(2, [8, 1], seed=0)
    history = fit(model, X, y, loss="hinge", optimizer=optim.Adam(model.parameters(), lr=0.05),
                  epochs=15, validation_data=(X_val, y_val), quiet=True, seed=0)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 15 for v in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert all(0.0 <= a <= 1.0 for a in history["val_accuracy"])


def test_quiet_prints_nothing_at_all(capfd):
    X, y = moons(20)
    fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3, quiet=True,
        callbacks=[EarlyStopping(monitor="loss")])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_the_progress_bar_shows_epochs_and_the_loss(capfd):
    X, y = moons(20)
    fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3)
    _, err = capfd.readouterr()
    assert "3/3" in err and "loss=" in err and "epoch" in err


def test_mini_batches_make_one_step_each():
    X, y = moons(40)
    steps = []

    class Counting(backends.EagerBackend):
        def train_step(self, model, loss_fn, X, y, penalty=None):
            steps.append(len(X))
            return super().train_step(model, loss_fn, X, y, penalty)

    model = MLP(2, [4, 1], seed=0)
    fit(model, X, y, loss="hinge", epochs=2, batch_size=16, backend=Counting(), quiet=True)
    assert steps == [16, 16, 8, 16, 16, 8]


def test_backends_are_chosen_by_name_or_given_as_objects():
    calls = []

    class Recording(backends.EagerBackend):
        def train_step(self, *args):
            calls.append("train")
            return super().train_step(*args)

    X, y = moons(10)
    fit(MLP(2, [2, 1], seed=0), X, y, loss="hinge", epochs=2, backend=Recording(), quiet=True)
    assert calls == ["train", "train"]
    for name, cls in (("eager", backends.EagerBackend), ("tape", backends.TapeBackend)):
        trainer = Trainer(MLP(2, [2, 1], seed=0), "hinge", optim.SGD([Value(0.0)]),
                          backend=name)
        assert type(trainer.backend) is cls
    with pytest.raises(ValueError, match="unknown backend 'turbo'; use 'eager' or 'tape'"):
        fit(MLP(2, [2, 1]), X, y, loss="hinge", backend="turbo", quiet=True)
    with pytest.raises(TypeError, match="backend must be 'eager', 'tape' or an object"):
        fit(MLP(2, [2, 1]), X, y, loss="hinge", backend=42, quiet=True)
    assert not hasattr(nn, "register_backend") and not hasattr(backends, "BACKENDS")


def test_a_wrapped_class_index_loss_declares_its_targets_for_the_tape():
    X, _ = data.make_moons(12, noise=0.1, seed=0)
    y = np.arange(12) % 3 * 1.0  # class indices stored as floats

    def my_loss(outputs, targets):  # a user's wrapper: the tape cannot know what it wraps
        return losses.cross_entropy(outputs, targets)

    def run(backend):
        model = MLP(2, [4, 3], seed=0)
        fit(model, X, y, loss=my_loss, optimizer=optim.SGD(model.parameters(), lr=0.1),
            epochs=2, backend=backend, metric=None, quiet=True)
        return [p.data for p in model.parameters()]

    assert losses.cross_entropy.targets == losses.nll_loss.targets == "class_index"
    with pytest.raises(TraceError):  # float targets are traced as numbers, not as indices
        run("tape")
    my_loss.targets = "class_index"
    assert np.allclose(run("tape"), run("eager"), rtol=1e-9, atol=1e-12)
    wrapped = functools.wraps(losses.nll_loss)(lambda out, t: losses.nll_loss(out, t))
    assert wrapped.targets == "class_index"  # functools.wraps carries the mark


def test_cross_entropy_on_the_tape_is_one_program_for_every_class():
    X, _ = data.make_moons(60, noise=0.1, seed=1)
    y = (np.arange(60) * 7) % 4  # four classes, mixed through every batch

    def run(backend, loss):
        model = MLP(2, [5, 4], seed=3)
        trainer = Trainer(model, loss, optim.Adam(model.parameters(), lr=0.05),
                          backend=backend, quiet=True)
        history = trainer.fit(X, y, epochs=3, batch_size=25, seed=0)
        return [p.data for p in model.parameters()], history, trainer

    eager, eager_history, _ = run("eager", "cross_entropy")
    for loss in ("cross_entropy", partial(losses.cross_entropy, reduction="mean")):
        tape, history, trainer = run("tape", loss)
        assert np.allclose(tape, eager, rtol=1e-9, atol=1e-12)
        assert np.allclose(history["loss"], eager_history["loss"], rtol=1e-9)
        (traced,) = [entry[1] for entry in trainer.backend._tapes.values()]
        assert traced.traces == 1  # not one per class
    # nll_loss takes no probabilities: one program per class, the same numbers
    log_softmax = lambda out, t: losses.nll_loss(nn.functional.log_softmax(out), t)  # noqa: E731
    log_softmax.targets = "class_index"
    nll, _, trainer = run("tape", log_softmax)
    assert np.allclose(nll, eager, rtol=1e-9, atol=1e-12)
    (traced,) = [entry[1] for entry in trainer.backend._tapes.values()]
    assert traced.traces == 4


def test_cross_entropy_with_soft_labels_trains_the_same_on_the_tape():
    X, _ = data.make_moons(40, noise=0.1, seed=2)
    raw = np.random.default_rng(2).uniform(0.05, 1.0, size=(40, 3))
    y = raw / raw.sum(axis=1, keepdims=True)  # class probabilities, one row per example

    def run(backend):
        model = MLP(2, [5, 3], seed=4)
        trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.2),
                          backend=backend, metric=None, quiet=True)
        history = trainer.fit(X, y, epochs=3, batch_size=16, seed=1)
        return [p.data for p in model.parameters()], history["loss"], trainer

    eager, eager_losses, _ = run("eager")
    tape, losses, trainer = run("tape")
    assert np.allclose(tape, eager, rtol=1e-9, atol=1e-12)
    assert np.allclose(losses, eager_losses, rtol=1e-9)
    (traced,) = [entry[1] for entry in trainer.backend._tapes.values()]
    assert traced.traces == 1


def test_accuracy_takes_class_indices_or_rows_of_class_probabilities():
    scores = np.array([[2.0, 0.1, 0.3], [0.0, -1.0, 3.0], [0.5, 0.6, 0.1], [1.0, 0.0, 0.0]])
    indices = np.array([0, 2, 0, 1])
    soft = np.eye(3)[indices] * 0.7 + 0.1  # each row's most likely class is its index
    assert nn.metrics.accuracy(scores, indices) == nn.metrics.accuracy(scores, soft) == 0.5
    with pytest.raises(ValueError, match=r"4 rows of class scores need one class index per "
                                         r"example, or a row of class probabilities each"):
        nn.metrics.accuracy(scores, soft[:, :2])
    X, _ = data.make_moons(20, noise=0.1, seed=0)
    history = fit(MLP(2, [4, 3], seed=0), X, soft[np.arange(20) % 4], loss="cross_entropy",
                  epochs=2, quiet=True)
    assert len(history["accuracy"]) == 2 and 0.0 <= history["accuracy"][-1] <= 1.0


def test_cross_entropy_on_the_tape_names_a_target_that_is_no_class():
    X, _ = data.make_moons(10, noise=0.1, seed=1)
    model = MLP(2, [3, 3], seed=0)
    before = [p.data for p in model.parameters()]
    for bad, shown in ((3, "3"), (-100, "-100"), (1.5, "1.5")):
        y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, bad])  # past the examples checked eagerly
        with pytest.raises(ValueError, match=f"target 9 is {shown}.*not a class index from "
                                             "0 to 2.*ignore_index.*backend='eager'"):
            fit(model, X, y, loss="cross_entropy", backend="tape", epochs=1, quiet=True)
    assert [p.data for p in model.parameters()] == before


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = moons(20)
    model = MLP(2, [4, 1], seed=0)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.model.state_dict())

    # nothing counts as an improvement after the first epoch, so training stops after 1 + 3
    stopper = EarlyStopping(monitor="loss", patience=3, min_delta=1e9)
    history = fit(model, X, y, loss="hinge", optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=50, callbacks=[Snapshot(), stopper], quiet=True)
    assert len(history["loss"]) == 4 and stopper.stopped_epoch == 3
    assert model.state_dict() == snapshots[0] != snapshots[-1]


def test_early_stopping_on_validation_loss_needs_validation_data():
    X, y = moons(10)
    with pytest.raises(ValueError, match="monitors 'val_loss'.*pass validation_data"):
        fit(MLP(2, [2, 1]), X, y, loss="hinge", epochs=2, callbacks=[EarlyStopping()],
            quiet=True)


def test_callback_hooks_run_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            events.append("begin")

        def on_epoch_end(self, trainer, epoch, logs):
            events.append(epoch)

        def on_train_end(self, trainer):
            events.append("end")

    X, y = moons(10)
    fit(MLP(2, [2, 1]), X, y, loss="hinge", epochs=3, callbacks=[Recorder()], quiet=True)
    assert events == ["begin", 0, 1, 2, "end"]


def test_metrics_follow_the_loss():
    X, y01 = data.make_moons(30, noise=0.1, seed=0)
    regression = fit(MLP(2, [4, 1]), X, y01.astype(float), loss="mse", epochs=2, quiet=True)
    assert "accuracy" not in regression
    X3, y3 = data.make_spirals(30, classes=3, seed=0)
    multi = fit(MLP(2, [6, 3], seed=0), X3, y3, loss="cross_entropy", epochs=2, quiet=True)
    assert "accuracy" in multi

    model = MLP(2, [4, 1])
    trainer = Trainer(model, "bce", optim.SGD(model.parameters()), quiet=True)
    probabilities = np.array([0.6, 0.4, 0.9])
    assert trainer.metric(probabilities, np.array([1, 0, 0])) == pytest.approx(2 / 3)


def test_evaluate_and_predict_use_eval_mode_and_build_no_graph():
    model = Sequential(Layer(2, 16, seed=0), Dropout(0.5, seed=0), Layer(16, 1, "linear"))
    trainer = Trainer(model, "hinge", optim.SGD(model.parameters(), lr=0.1), quiet=True)
    X, y = moons(10)
    y = y[:, None]  # the model gives a column: one list of one Value per example
    first, second = trainer.predict(X), trainer.predict(X)
    assert first.shape == (10, 1) and (first == second).all()
    assert model.training  # mode restored
    assert trainer.evaluate(X, y) == trainer.evaluate(X, y)
    assert trainer.evaluate(X, y)["accuracy"] == np.mean((first[:, 0] > 0) == (y[:, 0] > 0))


class GradModeSpy(Module):
    """Wraps a model and records whether each forward pass builds a graph."""

    def __init__(self):
        self.inner = MLP(2, [3, 1], seed=0)
        self.recording = []

    def forward(self, x):
        self.recording.append(is_grad_enabled())
        return self.inner(x)


def test_training_builds_graphs_and_evaluation_does_not():
    model = GradModeSpy()
    trainer = Trainer(model, "hinge", optim.SGD(model.parameters()), quiet=True)
    X, y = moons(10)
    trainer.fit(X, y, epochs=2, validation_data=(X, y))
    assert model.recording == [True, False, True, False]
    trainer.evaluate(X, y)
    trainer.predict(X)
    assert model.recording[-2:] == [False, False]


def test_regression_on_the_quadratic():
    X, y = data.make_quadratic(40, noise=0.01, seed=0)
    model = MLP(1, [16, 1], activation="tanh", seed=0)
    history = fit(model, X, y, loss="mse", optimizer=optim.Adam(model.parameters(), lr=0.05),
                  epochs=60, batch_size=10, quiet=True, seed=0)
    assert history["loss"][-1] < 0.2 * history["loss"][0]


@pytest.mark.parametrize("call, error, message", [
    (lambda m, X, y: fit(m, X[0], y, loss="hinge"), ValueError, "X must be 2-D"),
    (lambda m, X, y: fit(m, X, y[:-1], loss="hinge"), ValueError, "10 examples but y has 9"),
    (lambda m, X, y: fit(m, X, y, loss="hinge", epochs=0), ValueError, "epochs"),
    (lambda m, X, y: fit(m, X, y, loss="huber"), ValueError, "unknown loss 'huber'"),
    (lambda m, X, y: fit(m, X, y, loss="hinge", metric="f1"), ValueError, "metric"),
    (lambda m, X, y: fit(lambda x: x, X, y, loss="hinge"), TypeError, "nn.Module"),
    (lambda m, X, y: fit(m, X, y, loss="hinge", callbacks=[print]), TypeError, "Callback"),
    (lambda m, X, y: Trainer(m, "hinge", m.parameters()), TypeError, "optimizer"),
])
def test_bad_arguments(call, error, message):
    X, y = moons(10)
    with pytest.raises(error, match=message):
        call(MLP(2, [2, 1]), X, y)


def test_demo_trains_and_reports_the_accuracy(capsys):
    from nn import demo

    result = demo.main(["--points", "30", "--epochs", "40", "--quiet"])
    out = capsys.readouterr().out
    assert "Accuracy reached:" in out and "30 training points" in out
    assert result["train_accuracy"] >= 0.9


def test_fit_trains_in_training_mode_and_gives_back_the_mode_it_found_even_on_error():
    class Modes(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen.append(trainer.model.training)
            if epoch == 1:
                raise RuntimeError("stop here")

    model = Sequential(Layer(2, 4, seed=0), Dropout(0.5, seed=0), Layer(4, 1, "linear")).eval()
    spy = Modes()
    X, y = moons(10)
    y = y[:, None]  # the model gives a column
    with pytest.raises(RuntimeError, match="stop here"):
        fit(model, X, y, loss="hinge", epochs=3, callbacks=[spy], quiet=True,
            validation_data=(X, y))
    assert spy.seen == [True, True]  # validation in eval mode did not leave it there
    assert not any(m.training for m in model.modules())


def test_ctrl_c_in_a_loss_keeps_the_history_of_the_finished_epochs():
    X, y = moons(10)
    calls = []

    def loss(outputs, targets):  # one call per epoch (full batch); Ctrl-C during epoch 3
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return mse_loss(outputs, targets)

    model = MLP(2, [2, 1], seed=0)
    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1), metric=None,
                      quiet=True)
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.fit(X, y, epochs=10)
    assert info.value.history is trainer.history
    assert len(info.value.history["loss"]) == 3 and len(info.value.history["lr"]) == 3


def test_ctrl_c_from_fit_carries_the_history_and_skips_on_train_end():
    class CtrlC(Callback):
        ended = False

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 3:
                raise KeyboardInterrupt

        def on_train_end(self, trainer):
            self.ended = True

    X, y = moons(10)
    cb = CtrlC()
    with pytest.raises(KeyboardInterrupt) as info:
        fit(MLP(2, [2, 1], seed=0), X, y, loss="hinge", epochs=10, callbacks=[cb],
            quiet=True)
    history = info.value.history
    assert set(history) == {"loss", "accuracy", "lr"}
    assert all(len(v) == 4 for v in history.values())  # epochs 0-3 were recorded
    assert not cb.ended


def test_binary_cross_entropy_on_probabilities_trains_the_same_on_the_tape():
    """Its floor at log(p) = -100 is a decision on p's number, which the tape follows; it
    used math.log(p.data), which the tape refuses."""
    X, y = data.make_moons(24, noise=0.1, seed=1)

    def run(backend):
        model = MLP(2, [4, 1], activation="tanh", seed=0)

        def probability_loss(outputs, targets):
            return losses.binary_cross_entropy(
                [o.sigmoid() for o in outputs] if isinstance(outputs, list) else
                outputs.sigmoid(), targets)

        fit(model, X, y, loss=probability_loss, optimizer=optim.SGD(model.parameters(), lr=0.5),
            epochs=3, backend=backend, metric=None, quiet=True)
        return [p.data for p in model.parameters()]

    assert np.allclose(run("tape"), run("eager"), rtol=1e-9, atol=1e-12)
    # at the floor the term is the constant 100 in both (PyTorch's clamp), with no gradient
    from autograd import Value

    p = Value(1e-50)
    loss = losses.binary_cross_entropy(p, 1.0)
    loss.backward()
    assert loss.data == 100.0 and p.grad == 0.0
