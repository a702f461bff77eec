"""The benchmarks compare like with like: the engines compute the same numbers.

benchmarks/ is not a package; its modules import only the standard library, so they are
loaded here by path, as the benchmark's workers load them.
"""

import importlib
import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograd import Value

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    limit = sys.getrecursionlimit()  # the baseline raises it for its recursive sort
    names = ["floor_value", "microgpt_value", "run", "transformer", "worker", "workload"]
    try:
        yield SimpleNamespace(**{name: importlib.import_module(name) for name in names})
    finally:
        sys.path.remove(str(BENCHMARKS))
        sys.setrecursionlimit(limit)


def test_the_names_are_many_distinct_pronounceable_and_the_same_every_time(bench):
    transformer = bench.transformer
    names = transformer.make_names()
    assert names == transformer.make_names() and len(set(names)) == len(names) == 4000
    assert all(3 <= len(n) < transformer.BLOCK for n in names)
    assert all(re.fullmatch(r"[a-z]+", n) and re.search(r"[aeiouy]", n) for n in names)
    assert not any(re.search(r"[^aeiouy]{4}", n) for n in names)  # no 4 consonants in a row


def test_chainrule_and_the_microgpt_design_train_to_the_same_numbers(bench):
    transformer, baseline = bench.transformer, bench.microgpt_value.Value
    weights = transformer.initial_weights()
    runs = {}
    for engine in (Value, baseline):
        model = transformer.GPT(engine, weights)
        optimizer = transformer.Adam(model.parameters)
        losses = [transformer.train_step(model, optimizer, name) for name in ("anna", "bo", "kel")]
        runs[engine] = losses, [p.data for p in model.parameters]
    (ours, ours_after), (theirs, theirs_after) = runs.values()
    assert ours == pytest.approx(theirs, rel=1e-12, abs=0)
    assert ours_after == pytest.approx(theirs_after, rel=1e-12, abs=1e-15)
    assert ours[0] == pytest.approx(math.log(transformer.VOCAB), rel=0.1)  # near uniform at first
    assert ours_after != [x for rows in weights.values() for row in rows for x in row]  # it learnt


def test_the_floor_computes_the_same_forward_pass(bench):
    transformer, floor = bench.transformer, bench.floor_value.Value
    weights = transformer.initial_weights()
    ours = transformer.GPT(Value, weights).loss("mira")
    assert transformer.GPT(floor, weights).loss("mira").data == pytest.approx(ours.data, rel=1e-12)


def test_the_report_quotes_each_time_with_its_range_and_compares_only_engines_that_train(bench):
    run = bench.run
    assert run.Rounds([0.003, 0.001, 0.002]).text(spread=True) == "2 (1–3)"
    times = {label: run.Rounds([0.1 * (i + 1)]) for i, (label, *_) in enumerate(run.GPT_ROWS)}
    losses = {label: 2.5 for label, *_ in run.GPT_ROWS}
    losses[run.GPT_ROWS[-1][0]] = 3.3  # the floor does not train: its loss is not compared
    memory = {label: (1000, 10) for label, *_ in run.GPT_ROWS}
    text = "\n".join(run.transformer_report(times, losses, {k: 7 for k in losses}, memory))
    assert "largest relative difference 0.0e+00" in text
    assert "| chainrule eager | 200 (200–200) | 0.5x |" in text


def test_the_digit_shaped_data_and_its_tape_and_torch_losses_agree(bench):
    torch = pytest.importorskip("torch")
    worker, workload = bench.worker, bench.workload
    X, y = workload.digits(200)
    assert (X, y) == workload.digits(200) and len(X) == 200 and {len(row) for row in X} == {64}
    assert sorted(set(y)) == list(range(10)) and all(0.0 <= p <= 1.0 for row in X for p in row)
    threads = torch.get_num_threads()  # the benchmark's torch runs on one thread
    try:
        tape, theirs = worker.TapeDigits(200, [64, 64, 10]), worker.TorchDigits(200, [64, 64, 10])
        assert tape.step(0) == pytest.approx(theirs.step(0), rel=1e-12)
    finally:
        torch.set_num_threads(threads)
    assert tape.tape.traces == 1  # one-hot targets: one program for every class
    vector = worker.TapeDigitsValueAndGrad(200, [64, 64, 10])
    assert vector.step(0) == pytest.approx(tape.step(0), rel=1e-12)


def test_the_layers_table_times_backward_and_value_and_grad_on_the_same_numbers(bench):
    worker, run = bench.worker, bench.run
    fb, vg = worker.TapeForwardBackward(30, [2, 8, 8, 1]), worker.TapeValueAndGrad(30, [2, 8, 8, 1])
    assert vg.step(0) == pytest.approx(fb.step(0), rel=1e-12)
    grads = [p.grad for p in fb.params]
    assert any(grads) and not any(p.grad for p in vg.params)  # the vector's run writes none
    times = {"tape": run.Rounds([0.004]), "tape, vector": run.Rounds([0.001]),
             "PyTorch": run.Rounds([0.002])}
    layers = {(30, (2, 8, 8, 1)): (times, 1e-16)}
    text = run.report(SimpleNamespace(quick=True, rounds=1, micrograd_python=None, only="layers"),
                      {}, {}, {"-": 0.0}, {}, layers, {}, None, (0.0, 0.0), 1.0)
    assert "| 30 | 2-8-8-1 | 4 (4–4) | 1 (1–1) | 2 (2–2) | 2 | 0.5 | 1.0e-16 |" in text


def test_the_training_table_compares_fit_in_a_vector_batch_by_batch_and_torch(bench):
    worker, run = bench.worker, bench.run
    sizes = [64, 8, 10]
    vector, stepwise = worker.FitDigits(100, sizes), worker.FitDigitsStepByStep(100, sizes)
    losses = [(vector.step(k), stepwise.step(k)) for k in range(3)]
    assert all(a == b for a, b in losses) and losses[2][0] < losses[0][0]
    assert [p.data for p in vector.params] == [p.data for p in stepwise.params]
    wide = [worker.FitWide(30, [2, 8, 8, 1]), worker.FitWideStepByStep(30, [2, 8, 8, 1])]
    wide_loss = wide[0].step(0)
    assert wide_loss == wide[1].step(0)
    assert [p.data for p in wide[0].params] == [p.data for p in wide[1].params]
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        theirs = worker.TorchFitDigits(100, sizes)
        assert [theirs.step(k) for k in range(3)] == pytest.approx([a for a, _ in losses],
                                                                   rel=1e-10)
        assert worker.TorchFitWide(30, [2, 8, 8, 1]).step(0) == pytest.approx(wide_loss,
                                                                               rel=1e-10)
    finally:
        torch.set_num_threads(threads)
    times = {"fit(backend=\"tape\")": run.Rounds([0.03]), "PyTorch": run.Rounds([0.02])}
    wide = {"fit(backend=\"tape\")": run.Rounds([0.002]), "PyTorch": run.Rounds([0.001])}
    text = "\n".join(run.training_report({(1797, (64, 64, 10)): (times, {"a": 1.0, "b": 1.0}),
                                           (100, (2, 128, 128, 1)): (wide, {"a": 1.0})}))
    assert "| fit(backend=\"tape\") | 30 (30–30) | 1.5 | 2 (2–2) | 2 |" in text
    assert "57 steps" in text and "| PyTorch | 20 (20–20) | 1 | 1 (1–1) | 1 |" in text
