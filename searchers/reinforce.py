"""REINFORCE [``reinforce``] (Williams 1992), as NATS-Bench runs it (xautodl ``reinforce.py``).

Policy: an independent softmax over the operations of each edge (for NB201, 6 x 5 logits,
initialised to 0). Each step samples an architecture; the reward is the search signal (an
infeasible architecture's ``-inf`` becomes 0); the baseline is xautodl's bias-corrected
exponential moving average (momentum 0.9) updated with the reward *before* the advantage is
taken; the loss -log pi(a) (reward - baseline) is minimised by Adam (lr 0.01, PyTorch's
defaults otherwise), written here in numpy (the gradient of log pi(a) with respect to an edge's
logits is onehot(a) - softmax).

Spaces: any whose genotype is a tuple of option indices 0..k-1 with ``encode`` the matching
one-hot blocks (NB201). Spaces whose genes are values (nats-sss channel counts) are refused
with a clear error for now.
"""

from __future__ import annotations

import math

import numpy as np

from zcbench.errors import ZCBenchError
from zcbench.searchers.base import Searcher, register_searcher
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch


@register_searcher("reinforce")
class Reinforce(Searcher):
    def __init__(
        self, space: SearchSpace, seed: int = 0, learning_rate: float = 0.01, momentum: float = 0.9
    ) -> None:
        super().__init__(space, seed)
        genotype = space.sample(np.random.default_rng(0)).genotype
        choices = space.encoding_size // len(genotype)
        probe = Arch(space.name, (choices - 1,) * len(genotype))
        try:
            space.validate(probe)
        except ZCBenchError:
            raise ZCBenchError(
                f"reinforce needs a genotype of option indices; {space.name} encodes values"
            ) from None
        self.logits = np.zeros((len(genotype), choices))
        self.lr, self.momentum = learning_rate, momentum
        self._num = self._den = 0.0
        self._m = np.zeros_like(self.logits)
        self._v = np.zeros_like(self.logits)
        self._t = 0

    def _probs(self) -> np.ndarray:
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def ask(self) -> Arch:
        probs = self._probs()
        ops = tuple(int(self.rng.choice(len(p), p=p)) for p in probs)
        return Arch(self.space.name, ops)

    def tell(self, arch: Arch, signal: float) -> None:
        reward = signal if math.isfinite(signal) else 0.0
        self._num = self.momentum * self._num + (1 - self.momentum) * reward
        self._den = self.momentum * self._den + (1 - self.momentum)
        advantage = reward - self._num / self._den
        onehot = np.zeros_like(self.logits)
        onehot[np.arange(len(arch.genotype)), list(arch.genotype)] = 1.0
        grad = -(onehot - self._probs()) * advantage  # d loss / d logits
        self._t += 1
        self._m = 0.9 * self._m + 0.1 * grad
        self._v = 0.999 * self._v + 0.001 * grad**2
        m_hat = self._m / (1 - 0.9**self._t)
        v_hat = self._v / (1 - 0.999**self._t)
        self.logits -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)
