"""The transformer workload: a character-level GPT trained one name per step on scalars.

The model is the shape Karpathy's microgpt trains (Feb 2026), written here for any scalar
Value class that has + - * / **, exp, log and relu: token and position embeddings of 16,
RMSNorm, one block of causal self-attention with 4 heads (keys and values cached as the name
is read left to right), a ReLU MLP of 64, a linear head over 27 characters, softmax
cross-entropy averaged over the name's positions, and Adam with a linearly decaying rate.
A step builds about 47,000 Values for an eight-letter name and back-propagates through them.

The names are made up here, deterministically (`make_names`), so the benchmark needs no
download. Only the standard library is imported: this module also runs in the baseline
engine's process, where nothing else is needed.
"""

from __future__ import annotations

import math
import random

N_EMBD, N_HEAD, BLOCK, N_MLP = 16, 4, 16, 64
HEAD = N_EMBD // N_HEAD
CHARS = "abcdefghijklmnopqrstuvwxyz"
BOS = len(CHARS)  # the token that starts and ends every name
VOCAB = len(CHARS) + 1
LEARNING_RATE, BETA1, BETA2, EPS = 0.01, 0.85, 0.99, 1e-8
STEPS = 1000  # the schedule's length: the rate falls linearly to 0 over this many steps

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "ch", "dr", "gr", "kl", "sh", "st", "th", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "ai", "ea", "y"]
_CODAS = ["", "", "", "n", "l", "r", "s", "th", "x"]


def make_names(count=4000, seed=0):
    """`count` distinct pronounceable names of 3 to 15 letters: two or three syllables of
    onset and vowel, and sometimes a closing consonant."""
    rnd = random.Random(seed)
    names = set()
    while len(names) < count:
        syllables = rnd.choice((2, 2, 3))
        name = "".join(rnd.choice(_ONSETS) + rnd.choice(_VOWELS) for _ in range(syllables))
        name += rnd.choice(_CODAS)
        if 3 <= len(name) < BLOCK:
            names.add(name)
    names = sorted(names)
    rnd.shuffle(names)
    return names


def tokens(name):
    return [BOS] + [CHARS.index(c) for c in name] + [BOS]


def initial_weights(seed=42, std=0.08):
    """Every matrix's starting numbers (lists of rows of floats), the same for every engine."""
    rnd = random.Random(seed)

    def matrix(rows, cols):
        return [[rnd.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]

    return {
        "wte": matrix(VOCAB, N_EMBD), "wpe": matrix(BLOCK, N_EMBD),
        "wq": matrix(N_EMBD, N_EMBD), "wk": matrix(N_EMBD, N_EMBD),
        "wv": matrix(N_EMBD, N_EMBD), "wo": matrix(N_EMBD, N_EMBD),
        "fc1": matrix(N_MLP, N_EMBD), "fc2": matrix(N_EMBD, N_MLP),
        "head": matrix(VOCAB, N_EMBD),
    }


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def rmsnorm(x):
    scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(scores):
    top = max(s.data for s in scores)  # a constant shift, for exp's sake
    exps = [(s - top).exp() for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


class GPT:
    """The model's weights as Values of one engine, and its forward pass, token by token."""

    def __init__(self, value_class, weights):
        self.w = {k: [[value_class(x) for x in row] for row in rows]
                  for k, rows in weights.items()}
        self.parameters = [p for rows in self.w.values() for row in rows for p in row]

    def next_token_scores(self, token, position, keys, values):
        w = self.w
        x = [t + p for t, p in zip(w["wte"][token], w["wpe"][position])]
        x = rmsnorm(x)
        residual = x
        x = rmsnorm(x)
        q, k, v = linear(x, w["wq"]), linear(x, w["wk"]), linear(x, w["wv"])
        keys.append(k)
        values.append(v)
        attended = []
        for h in range(0, N_EMBD, HEAD):
            scores = [sum(q[h + j] * k_t[h + j] for j in range(HEAD)) / HEAD ** 0.5
                      for k_t in keys]
            weights = softmax(scores)
            attended += [sum(a * v_t[h + j] for a, v_t in zip(weights, values))
                         for j in range(HEAD)]
        x = [a + r for a, r in zip(linear(attended, w["wo"]), residual)]
        residual = x
        hidden = [h.relu() for h in linear(rmsnorm(x), w["fc1"])]
        x = [a + r for a, r in zip(linear(hidden, w["fc2"]), residual)]
        return linear(x, w["head"])

    def loss(self, name):
        """Mean cross-entropy of predicting each next character of `name` (and its end)."""
        ids = tokens(name)
        keys, values, losses = [], [], []
        for position, (token, target) in enumerate(zip(ids, ids[1:])):
            probabilities = softmax(self.next_token_scores(token, position, keys, values))
            losses.append(-probabilities[target].log())
        return sum(losses) * (1.0 / len(losses))


class Adam:
    """Adam on plain floats, updating each parameter's data from its grad, then zeroing it."""

    def __init__(self, parameters):
        self.parameters = parameters
        self.m = [0.0] * len(parameters)
        self.v = [0.0] * len(parameters)
        self.t = 0

    def step(self):
        self.t += 1
        lr = LEARNING_RATE * (1.0 - (self.t - 1) / STEPS)
        c1, c2 = 1.0 - BETA1 ** self.t, 1.0 - BETA2 ** self.t
        m, v = self.m, self.v
        for i, p in enumerate(self.parameters):
            g = p.grad
            m[i] = BETA1 * m[i] + (1.0 - BETA1) * g
            v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g
            p.data -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + EPS)
            p.grad = 0.0


def train_step(model, optimizer, name):
    loss = model.loss(name)
    loss.backward()
    optimizer.step()
    return loss.data
