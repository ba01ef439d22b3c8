"""When training has converged: the validation loss (the training loss's definition, on held-out
configurations) has stopped improving.

Checked every `output.validation_every` iterations. Training has converged when the best
validation loss of the last `window` checks is not lower than the best before them by more than
the fraction `rel_improvement`; it then stops, and the iterate with the lowest validation loss
is the result (early stopping). The training loss keeps falling long after the validation loss
stops (the optimizer refines what the data pins down ever more finely), so a rule on the
training loss alone either stops too early or never.
"""

from __future__ import annotations

import numpy as np

from ..potential import Potential
from .bfgs import Converged
from .loss import Loss

__all__ = ["converged", "ValidationMonitor"]


def converged(values, window: int, rel_improvement: float) -> bool:
    """True when min(values[-window:]) > (1 - rel_improvement) * min(values[:-window])."""
    if window <= 0 or len(values) <= window:
        return False
    return min(values[-window:]) > (1.0 - rel_improvement) * min(values[:-window])


class ValidationMonitor:
    """Validation loss at each check, the best iterate so far, and the convergence decision
    (the same on every MPI rank: the loss is summed over ranks like the training loss)."""

    def __init__(self, validation_loss: Loss, window: int, rel_improvement: float, on_best=None):
        """on_best(potential) runs whenever the best iterate changes (e.g. to save it)."""
        self.loss, self.on_best = validation_loss, on_best
        self.window, self.rel_improvement = window, rel_improvement
        self.values: list[float] = []
        self.iterations: list[int] = []
        self.best: tuple[float, int, Potential] | None = None   # (loss, iteration, potential)

    def holds(self) -> bool:
        """The rule holds on the checks so far (it fired at the last one)."""
        return converged(self.values, self.window, self.rel_improvement)

    def restart(self, iteration: int) -> None:
        """The optimizer restarted at `iteration`: the rule starts over, with the best loss so far
        as the reference the next `window` checks must improve on."""
        keep = [k for k, it in enumerate(self.iterations) if it <= iteration]
        if keep:
            k = min(keep, key=lambda j: self.values[j])
            self.values, self.iterations = [self.values[k]], [self.iterations[k]]

    def check(self, potential: Potential, iteration: int) -> float:
        """The validation loss of `potential`; raises Converged when training has converged."""
        value = float(self.loss.for_template(potential).evaluate(potential, gradient=False)["loss"])
        self.values.append(value)
        self.iterations.append(iteration)
        if np.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, iteration, potential)
            if self.on_best is not None:
                self.on_best(potential)
        if converged(self.values, self.window, self.rel_improvement):
            raise Converged(f"converged: validation loss improved by less than {self.rel_improvement:g} "
                            f"(relative) over the last {self.window} checks; best at iteration {self.best[1]}")
        return value
