"""The convergence rule: the validation loss stops improving; the result is the iterate with the
lowest validation loss; a resumed run decides as the straight one does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.cli import main
from mtp_lowrank.training.convergence import converged

from test_cli import _write_config


@pytest.mark.parametrize("values,window,rel,expected", [
    ([5, 4, 3, 2, 1], 2, 1e-3, False),            # still improving
    ([5, 4, 3, 3, 3], 2, 1e-3, True),             # flat for the window
    ([5, 4, 3, 3.5, 2.999], 2, 1e-3, True),       # improvement below rel
    ([5, 4, 3, 3.5, 2.5], 2, 1e-3, False),        # a real improvement within the window
    ([5, 4, 3], 3, 1e-3, False),                  # not enough checks yet
    ([5, 5, 5, 5], 0, 1e-3, False),               # off
])
def test_converged(values, window, rel, expected):
    assert converged(values, window, rel) is expected


def _records(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", ["bfgs", "rmf", "mfra"])
def test_training_stops_when_the_validation_loss_stops_improving(tmp_path, capsys, method):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
            "optimizer.converge_rel_improvement=0.05", "optimizer.method=" + method, "optimizer.rel_decrease=0"]
    sets += ["optimizer.r_max=2", "optimizer.s=3"] if method == "mfra" else []
    main(["train", str(cfg), "--set", *sets])
    out = capsys.readouterr().out
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    assert report["message"].startswith("converged: validation loss improved by less than 0.05"), report["message"]
    recs = _records(run)
    checks = [r for r in recs if "validation_loss" in r]
    values = [r["validation_loss"] for r in checks]
    assert checks[-1].get("converged") and converged(values, 3, 0.05) and not converged(values[:-1], 3, 0.05)
    assert recs[-1]["iteration"] < 400
    if method == "mfra":   # convergence is judged at the final rank only
        assert all(r.get("rank") == 2 for r in checks)
    best = checks[int(np.argmin(values))]
    assert f"lowest validation loss (iteration {best['iteration']}" in out
    final, kept = Potential.load(run / "potential.mtp"), Potential.load(run / "best_validation.mtp")
    np.testing.assert_array_equal(final.parameter_vector(), kept.parameter_vector())
    assert final.format == "mf"


def test_resumed_run_converges_like_the_straight_one(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    sets = ["output.validation_every=1", "optimizer.converge_window=3", "optimizer.converge_rel_improvement=0.05",
            "optimizer.rel_decrease=0", "output.checkpoint_every=1"]
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'straight'}"])
    straight = _records(tmp_path / "straight")
    stop = straight[-1]["iteration"] - 2
    main(["train", str(cfg), "--set", *sets, f"optimizer.max_iter={stop}", f"output.directory={tmp_path / 'part'}"])
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'part'}",
          "--resume", str(tmp_path / "part" / "checkpoint.mtp")])
    resumed = _records(tmp_path / "part")
    assert [r["iteration"] for r in resumed] == [r["iteration"] for r in straight]
    assert [r.get("validation_loss") for r in resumed] == [r.get("validation_loss") for r in straight]
    a = Potential.load(tmp_path / "straight" / "potential.mtp").parameter_vector()
    b = Potential.load(tmp_path / "part" / "potential.mtp").parameter_vector()
    np.testing.assert_array_equal(a, b)
