"""When training has converged: the validation error has stopped improving.

Checked every `output.validation_every` iterations. Training has converged when the best
value of the last `window` checks is not lower than the best before them by more than the
fraction `rel_improvement`; it then stops, and the iterate with the lowest value is the result
(early stopping). The training loss keeps falling long after the validation error stops (the
optimizer refines what the data pins down ever more finely), so a rule on the training loss
alone either stops too early or never.

The value watched (optimizer.converge_on) is by default the geometric mean of the validation
energy and force RMSEs (`rmse_score`; with the stress RMSE when stresses are fitted), or the
validation loss (the training loss's definition on the validation data). The loss sums forces
over atoms, so with MLIP's weights it is mostly forces. On Nb-Mo-Ta-W (level 16, w_f 0.003) the
rule on the loss stopped the R-MF and MFRA at 5.74 and 6.07 meV/atom; the rule on the RMSEs went
on to 5.09 and 5.45 at the same force error (findings.md section 7).
"""

from __future__ import annotations

import numpy as np

from ..potential import Potential
from .bfgs import Converged
from .loss import Loss
from .metrics import predictions, summarize

__all__ = ["converged", "rmse_score", "ValidationMonitor", "WATCHED_KEYS", "kept_by"]

LOSS_KEY, RMSE_KEY = "validation_loss", "validation_rmse_score"   # their names in metrics.jsonl
# optimizer.converge_on -> the metrics.jsonl keys its rule watches; the first one keeps the iterate
WATCHED_KEYS = {"loss": (LOSS_KEY,), "rmse": (RMSE_KEY,), "both": (RMSE_KEY, LOSS_KEY)}


def converged(values, window: int, rel_improvement: float) -> bool:
    """True when min(values[-window:]) > (1 - rel_improvement) * min(values[:-window])."""
    if window <= 0 or len(values) <= window:
        return False
    return min(values[-window:]) > (1.0 - rel_improvement) * min(values[:-window])


def rmse_score(*rmses: float) -> float:
    """The geometric mean of the RMSEs (e.g. energy in meV/atom and force in meV/A): scale-free
    in each, so a 1% lower energy RMSE counts as much as a 1% lower force RMSE."""
    return float(np.exp(np.mean(np.log(rmses))))


def kept_by(record: dict) -> float | None:
    """The value by which the rule of the run that wrote this metrics.jsonl record keeps its
    iterate: the first key of the rule whose keys the record holds (the one with the most, as
    'both' holds those of 'rmse' and 'loss'); None where it did not check."""
    rules = [keys for keys in WATCHED_KEYS.values() if all(k in record for k in keys)]
    return record[max(rules, key=len)[0]] if rules else None


def validation_rmses(summary: dict, stress: bool = False) -> tuple[float, ...]:
    """(energy RMSE in meV/atom[, force RMSE in meV/A][, stress RMSE in GPa]) from
    summarize()["all"]: the forces if the data has any, the stress only with `stress` and if
    the data has stresses."""
    rmses = (summary["energy_meV_per_atom"]["rmse"],)
    if summary["forces_meV_per_A"]["n"]:
        rmses += (summary["forces_meV_per_A"]["rmse"],)
    if stress and summary["stress_GPa"]["n"]:
        rmses += (summary["stress_GPa"]["rmse"],)
    return rmses


class ValidationMonitor:
    """The watched value (validation loss or rmse_score) at each check, the best iterate so far,
    and the convergence decision (the same on every MPI rank)."""

    def __init__(self, measure, window: int, rel_improvement: float, on_best=None, key: str = LOSS_KEY,
                 score_of=None):
        """measure(potential) -> the value the rule watches (e.g. the validation loss; lower is
        better); `key` names it in metrics.jsonl. on_best(potential) runs whenever the best
        iterate changes (e.g. to save it). score_of(summary): the value from summarize()["all"]
        of the validation predictions, for monitors that watch RMSEs (callers that have the
        summary anyway pass check() the value)."""
        self.measure, self.key, self.on_best, self.score_of = measure, key, on_best, score_of
        self.window, self.rel_improvement = window, rel_improvement
        self.values: list[float] = []
        self.iterations: list[int] = []
        self.best: tuple[float, int, Potential] | None = None   # (value, iteration, potential)
        # optimizer.converge_on both: a second monitor (on the loss) that must be flat too
        self.guard: ValidationMonitor | None = None

    @classmethod
    def on_loss(cls, validation_loss: Loss, window: int, rel_improvement: float, on_best=None):
        """The rule on the validation loss (the loss summed over ranks like the training loss)."""
        def measure(p):
            return float(validation_loss.for_template(p).evaluate(p, gradient=False)["loss"])
        return cls(measure, window, rel_improvement, on_best, key=LOSS_KEY)

    @classmethod
    def on_rmse(cls, images, window: int, rel_improvement: float, on_best=None, stress: bool = False):
        """The rule on rmse_score of the energy and force (and with `stress`, stress) RMSEs over
        `images` (the validation data; every MPI rank evaluates all of it, so all decide alike)."""
        def score_of(summary):
            return rmse_score(*validation_rmses(summary, stress))

        def measure(p):
            return score_of(summarize(predictions(p, images), by_group=False)["all"])
        return cls(measure, window, rel_improvement, on_best, key=RMSE_KEY, score_of=score_of)

    def chain(self) -> list["ValidationMonitor"]:
        """This monitor and its guard, if any."""
        return [self] if self.guard is None else [self, self.guard]

    @property
    def watched(self) -> str:
        """What the rule watches, in words (e.g. 'validation rmse score and validation loss')."""
        return " and ".join(m.key.replace("_", " ") for m in self.chain())

    def latest(self) -> dict:
        """{metrics.jsonl key: latest value} of this monitor and its guard."""
        return {m.key: m.values[-1] for m in self.chain()}

    def restore(self, record: dict) -> None:
        """Take back a check from a metrics.jsonl record (on resume), for this monitor and its guard."""
        for m in self.chain():
            m.values.append(record[m.key])
            m.iterations.append(record["iteration"])

    def holds(self) -> bool:
        """The rule holds on the checks so far (it fired at the last one): the value, and the
        guard's if there is one, improved by less than rel_improvement over the window."""
        return (converged(self.values, self.window, self.rel_improvement)
                and (self.guard is None or self.guard.holds()))

    def restart(self, iteration: int) -> None:
        """The optimizer restarted at `iteration`: the rule starts over, with the best value so far
        as the reference the next `window` checks must improve on."""
        keep = [k for k, it in enumerate(self.iterations) if it <= iteration]
        if keep:
            k = min(keep, key=lambda j: self.values[j])
            self.values, self.iterations = [self.values[k]], [self.iterations[k]]
        if self.guard is not None:
            self.guard.restart(iteration)

    def record(self, potential: Potential, iteration: int, value: float | None = None) -> float:
        """Add the measure of `potential` (`value` if the caller has it) at `iteration`; keep the
        iterate if it is the best so far."""
        value = float(self.measure(potential) if value is None else value)
        self.values.append(value)
        self.iterations.append(iteration)
        if np.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, iteration, potential)
            if self.on_best is not None:
                self.on_best(potential)
        return value

    def check(self, potential: Potential, iteration: int, value: float | None = None) -> float:
        """record() (and the guard's); raises Converged when training has converged."""
        value = self.record(potential, iteration, value)
        if self.guard is not None:
            self.guard.record(potential, iteration)
        if self.holds():
            raise Converged(f"converged: {self.watched} improved by less than {self.rel_improvement:g} "
                            f"(relative) over the last {self.window} checks; best at iteration {self.best[1]}")
        return value
