"""The engine in one screen: build a neuron, back-propagate, print every node, gradcheck it.

Run with ``python -m autograd.demo`` (``make demo`` runs the project's whole demo).
"""

from __future__ import annotations

from . import Value, gradcheck, topological_order

# micrograd's example neuron: b is chosen so that n = atanh(1/sqrt(2)) and out = 0.7071
NEURON_INPUTS = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


def neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    x1w1 = x1 * w1
    x1w1.label = "x1·w1"
    x2w2 = x2 * w2
    x2w2.label = "x2·w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    out = n.tanh()
    out.label = "o"
    return out


def micrograd_neuron() -> tuple[Value, dict[str, Value]]:
    """The neuron built from labelled leaves: returns (o, {name: leaf})."""
    leaves = {name: Value(x, label=name) for name, x in NEURON_INPUTS.items()}
    return neuron(**leaves), leaves


def main() -> Value:
    out, _ = micrograd_neuron()
    out.backward()

    print("A neuron, o = tanh(x1·w1 + x2·w2 + b), back-propagated:\n")
    print(f"  {'node':<8}{'op':<8}{'value':>12}{'do/d(node)':>16}")
    for node in topological_order(out):
        print(f"  {node.label or '(' + node.op + ')':<8}{node.op or 'leaf':<8}"
              f"{node.data:>12.6f}{node.grad:>16.6f}")
    gradcheck(neuron, list(NEURON_INPUTS.values()))
    print("\ngradcheck: every derivative agrees with central differences.")
    return out


if __name__ == "__main__":
    main()
