"""fit(backend="tape") with nn's optimizers keeps the parameters in a vector for an epoch
(`TapeBackend.train_epoch`): it must leave exactly what stepping batch by batch leaves, on
success, on an error and on Ctrl-C, and step batch by batch where it cannot."""

from functools import partial

import numpy as np
import pytest

from autograd.tape import Tape
from nn import MLP, Callback, Trainer, data, l2_penalty, optim
from nn.optim import LambdaLR, StepLR
from nn.tape_backend import _VectorEpochs

OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3, "nesterov": True}),
    (optim.SGD, {"lr": 0.05, "maximize": True}),
    (optim.Adam, {"lr": 0.02, "amsgrad": True, "weight_decay": 1e-3}),
    (optim.AdamW, {"lr": 0.02}),
    (optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.5}),
]


def step_by_step(cls):
    """`cls` with a step of its own (the same one): the trainer must step batch by batch."""
    return type(f"StepByStep{cls.__name__}", (cls,),
                {"step": lambda self, closure=None: cls.step(self, closure)})


def counting(monkeypatch):
    """How often the tape was called batch by batch (backward) or in a vector (value_and_grad)."""
    calls = {"backward": 0, "value_and_grad": 0}
    for name in calls:
        original = getattr(Tape, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Tape, name, counted)
    return calls


def train(optimizer_class, options, epochs=3, batch_size=8, model=None, params=None,
          callbacks=(), **fit):
    X, y = data.make_moons(30, noise=0.2, seed=3)
    model = model or MLP(2, [6, 5, 1], seed=1)
    optimizer = optimizer_class(params or model.parameters(), **options)
    trainer = Trainer(model, "hinge", optimizer, backend="tape", quiet=True,
                      penalty=partial(l2_penalty, alpha=1e-3), callbacks=callbacks,
                      scheduler=StepLR(optimizer, step_size=2, gamma=0.5))
    history = trainer.fit(X, 2 * y - 1, epochs=epochs, batch_size=batch_size, seed=4, **fit)
    return model, optimizer, history


def bits(numbers):
    """The numbers as bytes: == on them tells -0.0 from 0.0, as == on floats does not."""
    return np.array(numbers, dtype=np.float64).tobytes()


def outcome(model, optimizer, history):
    params = model.parameters()
    return (bits([p.data for p in params]), bits([p.grad for p in params]),
            optimizer.state_dict(), history)


@pytest.mark.parametrize("optimizer_class, options", OPTIMIZERS)
def test_an_epoch_in_a_vector_gives_the_numbers_of_stepping_batch_by_batch(
        monkeypatch, optimizer_class, options):
    calls = counting(monkeypatch)
    in_a_vector = outcome(*train(optimizer_class, options))
    # 30 examples in batches of 8: the first epoch traces, batch by batch, then vectors
    assert calls == {"backward": 4, "value_and_grad": 2 * 4}
    one_by_one = outcome(*train(step_by_step(optimizer_class), options))
    assert calls == {"backward": 4 + 3 * 4, "value_and_grad": 2 * 4}
    assert in_a_vector == one_by_one  # bit for bit: data, grads, state and history


def test_parameter_groups_of_their_own_are_stepped_in_a_vector_alike(monkeypatch):
    calls = counting(monkeypatch)

    def groups(optimizer_class):
        model = MLP(2, [6, 5, 1], seed=1)
        first, rest = model.layers[0].parameters(), model.layers[1:]
        params = [{"params": [p for layer in rest for p in layer.parameters()]},
                  {"params": first, "lr": 0.05, "weight_decay": 0.01}]
        return outcome(*train(optimizer_class, {"lr": 0.02}, model=model, params=params))

    in_a_vector = groups(optim.Adam)
    assert calls["value_and_grad"] == 2 * 4
    assert in_a_vector == groups(step_by_step(optim.Adam))


def test_an_optimizer_of_some_parameters_only_steps_batch_by_batch(monkeypatch):
    calls = counting(monkeypatch)
    model = MLP(2, [6, 5, 1], seed=1)
    frozen = model.layers[0].parameters()
    trained = [p for p in model.parameters() if all(p is not f for f in frozen)]
    before = [p.data for p in frozen]
    train(optim.Adam, {"lr": 0.02}, model=model, params=trained)
    assert calls["value_and_grad"] == 0 and calls["backward"] == 3 * 4
    assert [p.data for p in frozen] == before
    assert all(p.grad != 0.0 for p in frozen[:4])  # backward reached them; nothing moved them


def test_a_step_that_overflows_leaves_what_stepping_batch_by_batch_leaves():
    def failed(optimizer_class):
        model = MLP(2, [6, 5, 1], seed=1)
        optimizer = optimizer_class(model.parameters(), lr=0.01)
        X, y = data.make_moons(30, noise=0.2, seed=3)
        trainer = Trainer(model, "mse", optimizer, backend="tape", quiet=True, metric=None)
        trainer.fit(X, 10 * y, epochs=1, batch_size=8, seed=4)
        before = [p.data for p in model.parameters()]
        optimizer.param_groups[0]["lr"] = 1.7e308  # the update of a gradient above 1.06 overflows
        with pytest.raises(OverflowError) as info:
            trainer.fit(X, 10 * y, epochs=1, batch_size=8, seed=4)
        return before, outcome(model, optimizer, {}), str(info.value)

    (before, vector, vector_error), (_, stepwise, stepwise_error) = (
        failed(optim.SGD), failed(step_by_step(optim.SGD)))
    assert vector == stepwise and vector_error == stepwise_error.replace("StepByStep", "")
    assert vector_error.startswith("SGD.step(): the update of parameter ")
    assert "nothing was changed" in vector_error
    assert vector[0] == bits(before)  # the first step of the epoch failed: nothing moved
    assert np.frombuffer(vector[1]).any()  # the failing batch's gradients, as eager leaves


def test_a_forward_pass_that_fails_mid_epoch_leaves_the_steps_before_it():
    """A step of 1e300 makes the next batch's forward pass overflow: the error comes from
    value_and_grad, after zero_grad, so the gradients are 0 and the big step stays."""
    def failed(optimizer_class):
        model = MLP(2, [6, 5, 1], seed=1)
        optimizer = optimizer_class(model.parameters(), lr=0.01)
        X, y = data.make_moons(30, noise=0.2, seed=3)
        trainer = Trainer(model, "mse", optimizer, backend="tape", quiet=True)
        trainer.fit(X, y, epochs=1, batch_size=8, seed=4)  # traced, batch by batch
        optimizer.param_groups[0]["lr"] = 1e300
        with pytest.raises((OverflowError, ValueError, FloatingPointError)) as info:
            trainer.fit(X, y, epochs=1, batch_size=8, seed=4)
        params = model.parameters()
        return bits([p.data for p in params]), bits([p.grad for p in params]), str(info.value)

    vector, stepwise = failed(optim.SGD), failed(step_by_step(optim.SGD))
    assert vector == stepwise
    assert not np.frombuffer(vector[1]).any()
    assert np.abs(np.frombuffer(vector[0])).max() > 1e250  # the big step was taken


def test_ctrl_c_mid_epoch_keeps_the_steps_taken(monkeypatch):
    def interrupted(optimizer_class, method, nth):
        original, calls = getattr(Tape, method), []

        def third_is_interrupted(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == nth:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Tape, method, third_is_interrupted)
        model = MLP(2, [6, 5, 1], seed=1)
        with pytest.raises(KeyboardInterrupt):
            train(optimizer_class, {"lr": 0.02}, model=model)
        monkeypatch.setattr(Tape, method, original)
        params = model.parameters()
        return [p.data for p in params], [p.grad for p in params]

    # the third batch of the second epoch: the first epoch had 4
    vector = interrupted(optim.Adam, "value_and_grad", 3)
    stepwise = interrupted(step_by_step(optim.Adam), "backward", 4 + 3)
    assert vector == stepwise
    start = [p.data for p in MLP(2, [6, 5, 1], seed=1).parameters()]
    assert vector[0] != start  # six steps were taken and kept
    assert all(g == 0.0 for g in vector[1])  # zeroed for the batch that was interrupted


def test_the_layout_is_made_again_when_the_optimizers_parameters_change():
    X, y = data.make_moons(30, noise=0.2, seed=3)
    model = MLP(2, [4, 1], seed=1)
    optimizer = optim.Adam(model.parameters(), lr=0.1)  # state per parameter: order matters
    trainer = Trainer(model, "hinge", optimizer, backend="tape", quiet=True)
    trainer.fit(X, 2 * y - 1, epochs=2)  # the second epoch makes a layout
    optimizer.param_groups[0]["params"] = model.parameters()[::-1]  # a new list, reordered
    trainer.fit(X, 2 * y - 1, epochs=2)

    reference = MLP(2, [4, 1], seed=1)
    ref_optimizer = step_by_step(optim.Adam)(reference.parameters(), lr=0.1)
    ref_trainer = Trainer(reference, "hinge", ref_optimizer, backend="tape", quiet=True)
    ref_trainer.fit(X, 2 * y - 1, epochs=2)
    ref_optimizer.param_groups[0]["params"] = reference.parameters()[::-1]
    ref_trainer.fit(X, 2 * y - 1, epochs=2)
    assert [p.data for p in model.parameters()] == [p.data for p in reference.parameters()]
    assert np.isfinite([p.data for p in model.parameters()]).all()


def test_callbacks_see_each_epochs_numbers_and_without_them_the_vector_is_kept(monkeypatch):
    """With no callback and no validation the parameters stay in the vector from epoch to
    epoch (written back once, at the end); a callback sees each epoch's own numbers."""
    class Snapshots(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen.append(bits([p.data for p in trainer.model.parameters()]))

    writes = []
    original = _VectorEpochs.write_back

    def counted(self):
        writes.append(1)
        original(self)

    monkeypatch.setattr(_VectorEpochs, "write_back", counted)
    runs = {}
    for name, cls in (("vector", optim.Adam), ("stepwise", step_by_step(optim.Adam))):
        spy = Snapshots()
        model, optimizer, history = train(cls, {"lr": 0.02}, epochs=4, callbacks=[spy])
        runs[name] = spy.seen, outcome(model, optimizer, history)
    assert runs["vector"] == runs["stepwise"] and len(runs["vector"][0]) == 4
    assert len(writes) == 3  # after each of epochs 2 to 4, for the callback to see
    writes.clear()
    model, optimizer, history = train(optim.Adam, {"lr": 0.02}, epochs=4)
    assert len(writes) == 1  # epochs 2 to 4 in one vector, written back at the end
    assert outcome(model, optimizer, history) == runs["vector"][1]


def test_ctrl_c_between_kept_epochs_gives_the_values_their_numbers():
    def interrupted(optimizer_class):
        model = MLP(2, [6, 5, 1], seed=1)
        optimizer = optimizer_class(model.parameters(), lr=0.02)

        def rate(epoch):
            if epoch == 3:
                raise KeyboardInterrupt  # in the scheduler, after the third epoch
            return 1.0

        X, y = data.make_moons(30, noise=0.2, seed=3)
        trainer = Trainer(model, "hinge", optimizer, backend="tape", quiet=True,
                          scheduler=LambdaLR(optimizer, rate))
        with pytest.raises(KeyboardInterrupt) as info:
            trainer.fit(X, 2 * y - 1, epochs=5, batch_size=8, seed=4)
        assert len(info.value.history["loss"]) == 2
        return outcome(model, optimizer, {})

    vector, stepwise = interrupted(optim.Adam), interrupted(step_by_step(optim.Adam))
    assert vector == stepwise
    assert vector[0] != bits([p.data for p in MLP(2, [6, 5, 1], seed=1).parameters()])


def test_validation_after_each_epoch_sees_that_epochs_numbers():
    X_val, y_val = data.make_moons(12, noise=0.2, seed=5)
    runs = [outcome(*train(cls, {"lr": 0.02}, epochs=4, validation_data=(X_val, 2 * y_val - 1)))
            for cls in (optim.Adam, step_by_step(optim.Adam))]
    assert runs[0] == runs[1] and len(runs[0][3]["val_loss"]) == 4
