"""Optimisers that update a dict of parameter arrays in place: SGD with momentum, Adam."""

from __future__ import annotations

import math

import numpy as np

from training.network import Params


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum and weight decay."""

    def __init__(
        self, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:  # fmt: skip
        self.lr, self.momentum, self.weight_decay, self.nesterov = (
            lr,
            momentum,
            weight_decay,
            nesterov,
        )
        self.velocity: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        """Apply one update to ``params`` (in place) from ``grads`` of the same shapes."""
        for key, g in grads.items():
            if self.weight_decay and key.endswith("/w"):
                g = g + self.weight_decay * params[key]
            v = self.velocity.get(key)
            v = g.copy() if v is None else self.momentum * v + g
            self.velocity[key] = v
            params[key] -= self.lr * (g + self.momentum * v if self.nesterov else v)

    def state(self) -> Params:
        """Arrays to checkpoint, keyed ``"velocity/<param>"``."""
        return {f"velocity/{k}": v for k, v in self.velocity.items()}

    def load_state(self, state: Params) -> None:
        """Restore from ``state()``."""
        self.velocity = {
            k[len("velocity/") :]: v for k, v in state.items() if k.startswith("velocity/")
        }


class Adam:
    """Adam (Kingma and Ba, 2015) with decoupled weight decay (AdamW) when asked."""

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:  # fmt: skip
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay = weight_decay
        self.m: Params = {}
        self.v: Params = {}
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        """Apply one update to ``params`` (in place) from ``grads`` of the same shapes."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Bias corrections folded into the step size, as in the paper's section 2.
        step = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for key, g in grads.items():
            m = self.m.get(key)
            v = self.v.get(key)
            if m is None:
                m = np.zeros_like(g)
                v = np.zeros_like(g)
            # In place and in the parameters' dtype: Python floats do not upcast float32.
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            self.m[key], self.v[key] = m, v
            if self.weight_decay and key.endswith("/w"):
                params[key] -= self.lr * self.weight_decay * params[key]
            update = np.sqrt(v)
            update += self.eps
            np.divide(m, update, out=update)
            update *= step
            params[key] -= update

    def state(self) -> Params:
        """Arrays to checkpoint: moments and the step count."""
        out = {f"m/{k}": v for k, v in self.m.items()}
        out.update({f"v/{k}": v for k, v in self.v.items()})
        out["t"] = np.array(self.t)
        return out

    def load_state(self, state: Params) -> None:
        """Restore from ``state()``."""
        self.m = {k[2:]: v for k, v in state.items() if k.startswith("m/")}
        self.v = {k[2:]: v for k, v in state.items() if k.startswith("v/")}
        self.t = int(state["t"])
