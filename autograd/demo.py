"""The engine in one screen: build a neuron, back-propagate, print every node, gradcheck it.

Run with ``python -m autograd.demo`` (``make demo`` runs the project's whole demo).
"""

from __future__ import annotations

from . import Value, gradcheck, topological_order


def neuron(x1, x2, w1, w2, b):
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    out = n.tanh()
    out.label = "out"
    return out


def main() -> Value:
    names = ["x1", "x2", "w1", "w2", "b"]
    numbers = [2.0, 0.0, -3.0, 1.0, 6.8813735870195432]
    inputs = [Value(x, label=name) for name, x in zip(names, numbers)]
    out = neuron(*inputs)
    out.backward()

    print("A neuron, out = tanh(x1*w1 + x2*w2 + b), back-propagated:\n")
    print(f"  {'node':<8}{'op':<8}{'value':>12}{'d out/d node':>16}")
    for node in topological_order(out):
        print(f"  {node.label or '(' + node.op + ')':<8}{node.op or 'leaf':<8}"
              f"{node.data:>12.6f}{node.grad:>16.6f}")
    gradcheck(neuron, numbers)
    print("\ngradcheck: every derivative agrees with central differences.")
    return out


if __name__ == "__main__":
    main()
