"""Benchmark chainrule against micrograd, a microgpt-style Value and PyTorch.

    python benchmarks/run.py            # the full run, about 5 minutes; writes results.md
    python benchmarks/run.py --quick    # about 2 minutes; prints only (or --out FILE)
    python benchmarks/run.py --only transformer   # one table (or layers, or training)

Every engine runs in its own worker process (`worker.py`), micrograd 0.1.0 in its own
virtual environment (benchmarks/.venv-micrograd, made on first use with pip from PyPI).
The workers take turns, round after round, so that a busy machine slows them all alike;
a round's time is the mean over its steps (so garbage collections are averaged in), and
the tables show the median over rounds with the fastest and slowest round. The workloads:
micrograd's demo step (workload.py), a transformer trained one name a step
(transformer.py, against microgpt_value.py and floor_value.py), and forward + backward
on the tape against PyTorch as layers widen (workload.py's moons and digits).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MICROGRAD = "micrograd==0.1.0"
DEMO = (100, [2, 16, 16, 1])

# (label, engine, collector off?, steps per round in a full run)
ROWS = [
    ("micrograd 0.1.0", "micrograd", False, 10),
    ("micrograd 0.1.0, collector off", "micrograd", True, 10),
    ("chainrule eager, micrograd's code", "eager", False, 10),
    ("chainrule eager, nn.MLP", "eager-nn", False, 10),
    ("chainrule eager, collector off", "eager", True, 10),
    ("chainrule tape", "tape", False, 100),
    ("chainrule fit(backend=\"tape\")", "fit-tape", False, 100),
    ("PyTorch, 1 thread, float64", "torch", False, 100),
]


class Worker:
    """One engine in a subprocess, asked questions one JSON line at a time."""

    def __init__(self, label, python, engine, gc_off=False, env=None):
        self.label = label
        args = [python, str(HERE / "worker.py"), engine] + (["--gc-off"] if gc_off else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=HERE)

    def ask(self, **message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: the worker stopped (see its error above)")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.label}: {reply['error']}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def micrograd_python(args):
    """An interpreter with micrograd 0.1.0: --micrograd-python, or our own venv, made once."""
    if args.micrograd_python:
        return args.micrograd_python
    venv = HERE / ".venv-micrograd"
    python = venv / "bin" / "python"
    ok = python.exists() and subprocess.run(
        [python, "-c", "import micrograd"], capture_output=True).returncode == 0
    if not ok:
        print(f"Installing {MICROGRAD} into {venv} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
            subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            MICROGRAD], check=True)
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"note: could not install {MICROGRAD} ({error}); skipping micrograd",
                  flush=True)
            return None
    return str(python)


@contextlib.contextmanager
def running(rows, args, n, sizes):
    """Workers for the rows that can run here, set up for (n, sizes); they are closed on
    leaving the block, also on an error."""
    # One thread for numpy's BLAS too: PyTorch is compared on one thread.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    has_torch = importlib.util.find_spec("torch") is not None
    mg = micrograd_python(args) if any(e == "micrograd" for _, e, *_ in rows) else None
    workers = []
    for label, engine, gc_off, steps in rows:
        if engine == "micrograd" and mg is None or engine == "torch" and not has_torch:
            continue
        python = mg if engine == "micrograd" else sys.executable
        worker = Worker(label, python, engine, gc_off, env)
        try:
            worker.ask(cmd="setup", n=n, sizes=sizes)
        except RuntimeError as error:
            print(f"note: {error}; leaving it out", flush=True)
            worker.close()
            continue
        worker.steps = steps
        workers.append(worker)
    try:
        yield workers
    finally:
        for w in workers:
            w.close()


class Rounds:
    """One engine's mean seconds per step in each round: the tables quote the median, and
    with --spread its lowest and highest round too."""

    def __init__(self, times):
        self.times = times
        self.median = statistics.median(times)

    def text(self, spread):
        if not spread:
            return ms(self.median)
        return f"{ms(self.median)} ({ms(min(self.times))}–{ms(max(self.times))})"


def time_rounds(workers, rounds, scale):
    """Each worker's mean seconds per step, round after round (`Rounds`); workers take turns."""
    per_round = {w.label: [] for w in workers}
    for r in range(rounds):
        for w in workers:
            count = max(1, round(w.steps * scale))
            reply = w.ask(cmd="steps", count=count)
            per_round[w.label].append(statistics.fmean(reply["times"]))
            w.last_loss = reply["loss"]
        print(f"  round {r + 1}/{rounds} done", flush=True)
    return {label: Rounds(times) for label, times in per_round.items()}


def nodes_per_step(n, sizes):
    """Nodes of micrograd's demo graph: per example 2 inputs, w·x (2 nodes a weight), the
    ReLUs and 5 for the hinge; then the batch sum, the L2 penalty (3 a parameter), 7 more."""
    pairs = list(zip(sizes, sizes[1:]))
    per_example = 2 + sum(2 * a * b for a, b in pairs) + sum(b for _, b in pairs[:-1]) + 5
    params = sum(b * (a + 1) for a, b in pairs)
    return n * (per_example + 1) + 3 * params + 7


def main_table(args, rounds, scale):
    print(f"Reference workload: {DEMO[0]} points, MLP {'-'.join(map(str, DEMO[1]))}", flush=True)
    with running(ROWS, args, *DEMO) as workers:
        losses = {w.label: w.ask(cmd="steps", count=2)["loss"] for w in workers}  # warm up
        times = time_rounds(workers, rounds, scale)
        memory = {}
        for w in workers:
            reply = w.ask(cmd="memory")
            if reply["bytes"] is not None:
                memory[w.label] = reply["bytes"] / reply["nodes"]
    return times, memory, losses


def scaling_table(args, rounds, scale):
    configs = [(1000, [2, 16, 16, 1]), (100, [2, 64, 64, 1])]
    if not args.quick:
        configs += [(10000, [2, 16, 16, 1]), (1000, [2, 64, 64, 1])]
    rows = [r for r in ROWS if r[1] in ("eager", "tape", "torch") and not r[2]]
    results = {}
    for n, sizes in configs:
        print(f"Scaling: {n} points, MLP {'-'.join(map(str, sizes))}", flush=True)
        big = nodes_per_step(n, sizes) > 2_000_000
        chosen = [(*r[:3], 2) if r[1] == "eager" else r  # eager: fewer steps a round
                  for r in rows if not (big and r[1] == "eager")]
        with running(chosen, args, n, sizes) as workers:
            for w in workers:
                w.ask(cmd="steps", count=1)
            results[(n, tuple(sizes))] = time_rounds(workers, max(3, rounds // 2), scale)
    return results


LAYERS = [(100, [2, 16, 16, 1]), (1000, [2, 16, 16, 1]), (100, [2, 64, 64, 1]),
          (1000, [2, 64, 64, 1]), (100, [2, 128, 128, 1]), (1000, [2, 128, 128, 1])]
LAYER_ROWS = [("tape", "tape-fb", False, 50), ("tape, vector", "tape-vg", False, 50),
              ("PyTorch", "torch-fb", False, 50)]
DIGITS = (1797, [64, 64, 10])  # the shape of scikit-learn's digits (workload.digits)
DIGIT_ROWS = [("tape", "tape-digits", False, 20), ("tape, vector", "tape-digits-vg", False, 20),
              ("PyTorch", "torch-digits", False, 20)]


def layers_table(args, rounds, scale):
    """Forward + backward of the mean hinge loss as layers widen: the tape and PyTorch
    (float64, 1 thread) take turns, round after round, on each configuration."""
    results = {}
    configs = [(n, sizes, LAYER_ROWS) for n, sizes in (LAYERS[:4] if args.quick else LAYERS)]
    for n, sizes, rows in configs + [(*DIGITS, DIGIT_ROWS)]:
        print(f"Layers: {n} points, MLP {'-'.join(map(str, sizes))}", flush=True)
        with running(rows, args, n, sizes) as workers:
            losses = [w.ask(cmd="steps", count=1)["loss"] for w in workers]
            times = time_rounds(workers, rounds, scale)
            results[(n, tuple(sizes))] = (times, _spread(losses))
    return results


# (label, engine per workload, collector off?, steps per round); a step is one epoch on
# the digits (in batches of 32) and 20 epochs on the wide MLP (the whole set as one batch)
TRAINING_ROWS = [
    ("fit(backend=\"tape\")", ("fit-digits", "fit-wide"), False, 3),
    ("fit(backend=\"tape\"), stepping batch by batch",
     ("fit-digits-stepwise", "fit-wide-stepwise"), False, 3),
    ("PyTorch", ("torch-fit-digits", "torch-fit-wide"), False, 3),
]
WIDE = (100, [2, 128, 128, 1])
TRAINING = [(DIGITS, 1), (WIDE, 20)]  # (workload, epochs a step)


def training_table(args, rounds, scale):
    """fit on the tape, fit made to step batch by batch, and the same loop in PyTorch,
    taking turns, on each workload: {workload: (ms an epoch per engine, losses)}."""
    results = {}
    for which, ((n, sizes), epochs) in enumerate(TRAINING):
        print(f"Training: {n} examples, MLP {'-'.join(map(str, sizes))}", flush=True)
        rows = [(label, engines[which], *rest) for label, engines, *rest in TRAINING_ROWS]
        with running(rows, args, n, sizes) as workers:
            for w in workers:
                w.ask(cmd="steps", count=1)  # the first epoch traces the tape
            times = time_rounds(workers, rounds, scale)
            losses = {w.label: w.last_loss for w in workers}
        per_epoch = {label: Rounds([t / epochs for t in r.times]) for label, r in times.items()}
        results[(n, tuple(sizes))] = (per_epoch, losses)
    return results


def training_report(results):
    lines = [
        "## Training: fit, ms an epoch",
        "",
        f"`Trainer.fit(X, y, ...)` with backend=\"tape\" and Adam at lr 0.01, batches in "
        f"order: {DIGITS[0]:,} generated 8x8 digits (the layers table's last row), MLP "
        f"{'-'.join(map(str, DIGITS[1]))}, cross_entropy, batches of 32 "
        f"({-(-DIGITS[0] // 32)} steps an epoch), one epoch a call; and {WIDE[0]} two-moons "
        f"points, MLP {'-'.join(map(str, WIDE[1]))}, hinge loss, the whole set as one batch, "
        f"{TRAINING[1][1]} epochs a call. fit keeps the parameters in a numpy vector for an "
        "epoch (and from epoch to epoch when nothing looks at them in between: no callbacks, "
        "no validation); the second row is fit with an optimizer that has a step of its own, "
        "which makes the trainer read and write every Value at every batch (as every fit did "
        "before); the last the same loop in PyTorch (float64, one thread).",
        "",
        "| engine | " + " | ".join(
            f"{'-'.join(map(str, sizes))}, {n:,} examples | ÷ PyTorch"
            for (n, sizes), _ in TRAINING) + " |",
        "|---|" + "---:|---:|" * len(TRAINING),
    ]
    for label, *_ in TRAINING_ROWS:
        cells = []
        for times, _ in results.values():
            torch = times.get("PyTorch")
            row = times.get(label)
            cells += [row.text(spread=True) if row else "-",
                      number(row.median / torch.median) if row and torch else "-"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    spreads = [_spread(list(losses.values())) for _, losses in results.values()]
    lines += ["", "Training loss after the last step timed, largest relative difference "
              "between the engines: " + ", ".join(f"{s:.1e}" for s in spreads) + "."]
    return lines


GPT_ROWS = [
    ("microgpt's Value (the baseline)", "gpt-microgpt", False, 4),
    ("chainrule eager", "gpt-eager", False, 4),
    ("microgpt's Value, collector off", "gpt-microgpt", True, 4),
    ("chainrule eager, collector off", "gpt-eager", True, 4),
    ("the floor: forward only, graph kept", "gpt-floor", False, 4),
]


def transformer_table(args, rounds, scale):
    """The transformer workload (transformer.py): microgpt's design against chainrule's
    eager engine, the same names in the same order, so that their losses can be compared."""
    print("Transformer: one name a step", flush=True)
    with running(GPT_ROWS, args, 0, []) as workers:
        for w in workers:
            w.ask(cmd="steps", count=2)  # warm up
        times = time_rounds(workers, rounds, scale)
        losses = {w.label: w.last_loss for w in workers}
        steps = {w.label: w.ask(cmd="steps", count=0)["step"] for w in workers}
        memory = {}
        for w in workers:
            reply = w.ask(cmd="memory")
            memory[w.label] = (reply["bytes"], reply["nodes"])
    return times, losses, steps, memory


def transformer_report(times, losses, steps, memory):
    base = times.get(GPT_ROWS[0][0])
    base_off = times.get(GPT_ROWS[2][0])
    nodes = memory.get(GPT_ROWS[1][0], next(iter(memory.values())))[1]
    lines = [
        "## A transformer, one name a step",
        "",
        "A character-level GPT as Karpathy's microgpt trains it (benchmarks/transformer.py): "
        "embeddings of 16, RMSNorm, one attention block of 4 heads, a ReLU MLP of 64, "
        "softmax cross-entropy, Adam; one made-up name a step, forward, backward and update. "
        f"The first name's graph has {nodes:,} nodes in chainrule. The baseline is a Value "
        "in microgpt's design (benchmarks/microgpt_value.py): local gradients computed as it "
        "goes forward, "
        "a tuple of children, a recursive topological sort.",
        "",
        "| engine | ms / step | speed-up vs microgpt's Value | with both collectors off "
        "| bytes / node |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, _, gc_off, _ in GPT_ROWS:
        if label not in times:
            continue
        t = times[label].median
        against = base_off if gc_off else base
        held, counted = memory[label]
        lines.append(
            f"| {label} | {times[label].text(spread=True)} | "
            f"{number(base.median / t, 'x') if base and not gc_off else '-'} | "
            f"{number(against.median / t, 'x') if against and gc_off else '-'} | "
            f"{held / counted:.0f} |"
        )
    finals = [loss for label, loss in losses.items() if label != GPT_ROWS[-1][0]]
    lines += [
        "",
        f"Loss of the last step timed (step {max(steps.values())}), every engine that trains: "
        f"{finals[0]:.15g}, largest relative difference {_spread(finals):.1e}. Python's "
        "cycle collector runs through every node a graph keeps alive, for both engines; "
        "the rows with it off (for timing only: it runs between steps) show the engines' "
        "own work.",
        "",
    ]
    return lines


def chain_table(args):
    depth = 100_000 if args.quick else 1_000_000
    rows = [("chainrule eager", "eager", depth), ("PyTorch", "torch", depth),
            ("micrograd 0.1.0", "micrograd", 500)]
    results = {}
    for label, engine, d in rows:
        with running([(label, engine, False, 1)], args, 1, [1, 1]) as workers:
            if not workers:
                continue
            w = workers[0]
            try:
                seconds = min(w.ask(cmd="chain", depth=d)["seconds"] for _ in range(3))
                results[label] = (d, seconds)
                if engine == "micrograd":  # its recursive topological sort has a depth limit
                    w.ask(cmd="chain", depth=10 * d)
            except RuntimeError as error:
                if label in results:
                    results[label] += (f"{error.args[0].split(': ', 1)[1]} at depth {10 * d}",)
                else:
                    print(f"note: {error}", flush=True)
    return results


def machine():
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}"]
    for name in ("numpy", "torch"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()}; " + ", ".join(versions)


def ms(seconds):
    return number(seconds * 1e3)


def number(x, suffix=""):
    """Three significant digits, but whole numbers from 100 up: 0.498, 85.9, 1,670."""
    return f"{x:,.0f}{suffix}" if x >= 100 else f"{x:.3g}{suffix}"


def report(args, times, memory, losses, scaling, layers, chains, gpt, load, elapsed,
           training=None):
    def median(label, row=times):
        return row[label].median if label in row else None

    mg, mg_off, torch = median(ROWS[0][0]), median(ROWS[1][0]), median(ROWS[-1][0])
    lines = [
        f"# Benchmark: micrograd's demo step and a transformer{' (--quick)' if args.quick else ''}",
        "",
        f"Machine: {machine()}. Load average {load[0]:.2f} before, {load[1]:.2f} after; "
        f"{elapsed / 60:.1f} minutes. Command: `{command(args)}`. Each time is the median "
        "over rounds of the mean time per step, with the fastest and slowest round in "
        "brackets; the engines take turns, round after round, each in its own process.",
        "",
        f"Workload: {DEMO[0]} two-moons points, MLP {'-'.join(map(str, DEMO[1]))}, hinge loss "
        f"+ 1e-4·Σp², SGD; {nodes_per_step(*DEMO):,} graph nodes per step.",
        "",
        "| engine | ms / step | speed-up vs micrograd | vs micrograd, collector off "
        "| x PyTorch's time | bytes / node |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, *_ in ROWS:
        if label not in times:
            continue
        t = times[label].median
        cells = [
            times[label].text(spread=True),
            number(mg / t, "x") if mg else "-",
            number(mg_off / t, "x") if mg_off else "-",
            number(t / torch) if torch else "-",
            f"{memory[label]:.0f}" if label in memory else "-",
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    spread = _spread([v for k, v in losses.items() if "fit" not in k])
    lines += [
        "",
        f"Loss after two steps, every engine but fit (which reports the loss without the "
        f"penalty): {next(iter(losses.values())):.15g}, largest relative difference "
        f"{spread:.1e}. The tape's bytes/node are its numpy buffers for the whole batch per "
        "node of the eager graph they stand for.",
        "",
    ]
    if gpt:
        lines += transformer_report(*gpt)
    lines += [
        "## Scaling (ms / step)",
        "",
        "| points | MLP | nodes / step | eager | tape | PyTorch | tape x PyTorch |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for (n, sizes), row in scaling.items():
        labels = ("chainrule eager, micrograd's code", "chainrule tape",
                  "PyTorch, 1 thread, float64")
        eager, tape, torch_t = (row.get(label) for label in labels)
        ratio = number(tape.median / torch_t.median) if tape and torch_t else "-"
        cells = [str(n), "-".join(map(str, sizes)), f"{nodes_per_step(n, sizes):,}",
                 *(r.text(spread=True) if r else "-" for r in (eager, tape, torch_t)), ratio]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Layers: forward + backward (ms)",
        "",
        "Mean hinge loss of an MLP with ReLU on two-moons points, no penalty and no update: "
        "`tape.backward(X, y)` (parameters read from their Values, gradients added into "
        "them), `tape.value_and_grad(X, y, params=theta)` (parameters in a numpy vector, "
        "gradients returned as one: what PyTorch's tensors are to it) and PyTorch float64 "
        "on one thread (numpy's BLAS on one thread too). Median over rounds; they take "
        "turns. The tape runs each layer as a matrix product, so its loss agrees with "
        "PyTorch's to rounding (largest relative difference in the last column). The last "
        "row is softmax cross-entropy on 1,797 generated 8x8 images of 10 classes (the "
        "shape of scikit-learn's digits), the class indices given to the tape as one-hot "
        "rows, as fit(backend=\"tape\") gives them to cross_entropy.",
        "",
        "| points | MLP | tape.backward | value_and_grad | PyTorch | backward ÷ PyTorch | "
        "value_and_grad ÷ PyTorch | loss rel. diff |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (n, sizes), (row, spread) in layers.items():
        tape, vector, torch_t = row.get("tape"), row.get("tape, vector"), row.get("PyTorch")
        ratios = [number(r.median / torch_t.median) if r and torch_t else "-"
                  for r in (tape, vector)]
        cells = [r.text(spread=True) if r else "-" for r in (tape, vector, torch_t)]
        lines.append(f"| {n} | {'-'.join(map(str, sizes))} | {' | '.join(cells)} | "
                     f"{' | '.join(ratios)} | {spread:.1e} |")
    if training:
        lines += ["", *training_report(training)]
    if chains:
        lines += ["", "## A chain of ReLUs: backward only", "",
                  "| engine | depth | seconds | nodes / second | note |",
                  "|---|---:|---:|---:|---|"]
    for label, (depth, seconds, *note) in chains.items():
        lines.append(f"| {label} | {depth:,} | {seconds:.3g} | {depth / seconds:,.0f} | "
                     f"{note[0] if note else ''} |")
    return "\n".join(lines) + "\n"


def command(args):
    words = ["python benchmarks/run.py"]
    if args.quick:
        words.append("--quick")
    if args.rounds:
        words.append(f"--rounds {args.rounds}")
    if args.only:
        words.append(f"--only {args.only}")
    return " ".join(words)


def report_one(args, section, load, elapsed):
    """The report of one table (--only): its section, after the machine's line."""
    lines = [f"Machine: {machine()}. Load average {load[0]:.2f} before, {load[1]:.2f} after; "
             f"{elapsed / 60:.1f} minutes. Command: `{command(args)}`.", ""]
    return "\n".join(lines + section) + "\n"


def _spread(values):
    if len(values) < 2:
        return 0.0
    ref = values[0]
    return max(abs(v - ref) for v in values) / max(abs(ref), 1e-300)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller runs")
    parser.add_argument("--rounds", type=int, help="rounds of the main table (default 7, 3)")
    parser.add_argument("--out", type=Path,
                        help="where to write the tables (default benchmarks/results.md; "
                             "--quick writes none)")
    parser.add_argument("--micrograd-python", help="a Python that has micrograd 0.1.0")
    parser.add_argument("--only", choices=["layers", "transformer", "training"],
                        help="run one table only (prints it; writes nothing without --out)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    scale = 0.3 if args.quick else 1.0
    out = args.out or (None if args.quick else HERE / "results.md")

    started, load_before = time.perf_counter(), os.getloadavg()[0]
    if args.only:
        if args.only == "layers":
            full = report(args, {}, {}, {"-": 0.0}, {}, layers_table(args, rounds, scale), {},
                          None, (0, 0), 0)
            section = full[full.index("## Layers"):].splitlines()
        elif args.only == "training":
            section = training_report(training_table(args, rounds, scale))
        else:
            section = transformer_report(*transformer_table(args, rounds, scale))
        text = report_one(args, section, (load_before, os.getloadavg()[0]),
                          time.perf_counter() - started)
        print("\n" + text)
        if args.out:
            args.out.write_text(text)
        return
    times, memory, losses = main_table(args, rounds, scale)
    gpt = transformer_table(args, rounds, scale)
    scaling = scaling_table(args, rounds, scale)
    layers = layers_table(args, rounds, scale)
    training = training_table(args, rounds, scale)
    chains = chain_table(args)
    text = report(args, times, memory, losses, scaling, layers, chains, gpt,
                  (load_before, os.getloadavg()[0]), time.perf_counter() - started, training)
    print("\n" + text)
    if out is None:
        return
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.replace(f.name, out)
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
