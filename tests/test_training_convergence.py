"""The convergence rule: the validation loss (or, with converge_on: rmse, the geometric mean of
the validation energy and force RMSEs) stops improving; the result is the iterate with the
lowest value; a resumed run decides as the straight one does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.cli import main
from mtp_lowrank.training.convergence import converged, rmse_score

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


def test_rmse_score_counts_relative_gains_in_energy_and_force_alike():
    assert rmse_score(4.0, 100.0) == pytest.approx(20.0)
    assert rmse_score(4.0 * 0.9, 100.0) == pytest.approx(rmse_score(4.0, 100.0 * 0.9))
    assert rmse_score(4.0, 100.0, 0.5) == pytest.approx(200.0 ** (1 / 3))


def test_the_rmse_monitor_counts_stresses_when_they_are_fitted():
    from conftest import random_potential
    from test_training_optimize import labelled

    from mtp_lowrank.training.convergence import ValidationMonitor, validation_rmses
    from mtp_lowrank.training.metrics import predictions, summarize

    pot = random_potential(seed=3)
    images = labelled(pot, count=4, seed=5)
    truth = random_potential(seed=4)   # a different potential: errors are not zero
    summary = summarize(predictions(truth, images), by_group=False)["all"]
    assert summary["stress_GPa"]["n"] > 0
    e, f, s = (summary[k]["rmse"] for k in ("energy_meV_per_atom", "forces_meV_per_A", "stress_GPa"))
    assert validation_rmses(summary) == (e, f)
    assert validation_rmses(summary, stress=True) == (e, f, s)
    energy_only = dict(summary, forces_meV_per_A={"rmse": float("nan"), "mae": float("nan"), "n": 0})
    assert validation_rmses(energy_only) == (e,)   # data without forces: the energy alone
    for stress, expected in ((False, np.sqrt(e * f)), (True, np.cbrt(e * f * s))):
        monitor = ValidationMonitor.on_rmse(images, 3, 0.01, stress=stress)
        assert monitor.measure(truth) == pytest.approx(expected, rel=1e-12)
        assert monitor.score_of(summary) == pytest.approx(expected, rel=1e-12)


def _records(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", ["bfgs", "rmf", "mfra"])
def test_training_stops_when_the_validation_loss_stops_improving(tmp_path, capsys, method):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
            "optimizer.converge_rel_improvement=0.05", "optimizer.method=" + method, "optimizer.rel_decrease=0",
            "optimizer.converge_on=loss"]
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


def test_training_on_the_rmse_score_stops_by_it_and_keeps_its_best(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
            "optimizer.converge_rel_improvement=0.05", "optimizer.rel_decrease=0"]   # rmse: the default
    main(["train", str(cfg), "--set", *sets])
    out = capsys.readouterr().out
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    assert report["message"].startswith("converged: validation rmse score improved by less than 0.05"), report["message"]
    checks = [r for r in _records(run) if "validation_rmse_score" in r]
    assert checks and not any("validation_loss" in r for r in _records(run))
    for r in checks:   # the score of the RMSEs recorded with it
        assert r["validation_rmse_score"] == pytest.approx(
            np.sqrt(r["validation_energy_rmse_meV_per_atom"] * r["validation_force_rmse_meV_per_A"]), rel=1e-12)
    values = [r["validation_rmse_score"] for r in checks]
    assert checks[-1].get("converged") and converged(values, 3, 0.05) and not converged(values[:-1], 3, 0.05)
    best = checks[int(np.argmin(values))]
    assert f"lowest validation rmse score (iteration {best['iteration']}" in out
    assert report["kept_iteration"] == best["iteration"]
    # the kept iterate is the one with that score: its validation RMSEs are the recorded ones
    final = Potential.load(run / "potential.mtp")
    assert report["validation"]["all"]["energy_meV_per_atom"]["rmse"] == pytest.approx(
        best["validation_energy_rmse_meV_per_atom"], rel=1e-9)
    np.testing.assert_array_equal(final.parameter_vector(),
                                  Potential.load(run / "best_validation.mtp").parameter_vector())


def test_both_stops_only_when_the_score_and_the_loss_are_flat_and_keeps_the_lowest_score(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
            "optimizer.converge_rel_improvement=0.05", "optimizer.rel_decrease=0", "optimizer.converge_on=both"]
    main(["train", str(cfg), "--set", *sets])
    out = capsys.readouterr().out
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    assert report["message"].startswith("converged: validation rmse score and validation loss improved by less than 0.05")
    checks = [r for r in _records(run) if "validation_rmse_score" in r]
    assert checks and all("validation_loss" in r for r in checks)
    scores, losses = [r["validation_rmse_score"] for r in checks], [r["validation_loss"] for r in checks]
    assert checks[-1].get("converged") and converged(scores, 3, 0.05) and converged(losses, 3, 0.05)
    for k in range(1, len(checks)):   # at no earlier check were both flat
        assert not (converged(scores[:k], 3, 0.05) and converged(losses[:k], 3, 0.05))
    best = checks[int(np.argmin(scores))]
    assert f"lowest validation rmse score (iteration {best['iteration']}" in out
    assert report["kept_iteration"] == best["iteration"]
    # the same run on the score alone: identical until it stops, and it stops no later
    main(["train", str(cfg), "--set", *sets[:-1], "optimizer.converge_on=rmse", f"output.directory={tmp_path / 'rmse'}"])
    alone = _records(tmp_path / "rmse")
    assert alone[-1]["iteration"] <= checks[-1]["iteration"]
    assert [r["loss"] for r in alone] == [r["loss"] for r in _records(run)[:len(alone)]]


@pytest.mark.parametrize("criterion", ["loss", "rmse", "both"])
def test_resumed_run_converges_like_the_straight_one(tmp_path, capsys, criterion):
    cfg = _write_config(tmp_path)
    sets = ["output.validation_every=1", "optimizer.converge_window=3", "optimizer.converge_rel_improvement=0.05",
            "optimizer.rel_decrease=0", "output.checkpoint_every=1", f"optimizer.converge_on={criterion}"]
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'straight'}"])
    straight = _records(tmp_path / "straight")
    stop = straight[-1]["iteration"] - 2
    main(["train", str(cfg), "--set", *sets, f"optimizer.max_iter={stop}", f"output.directory={tmp_path / 'part'}"])
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'part'}",
          "--resume", str(tmp_path / "part" / "checkpoint.mtp")])
    resumed = _records(tmp_path / "part")
    assert [r["iteration"] for r in resumed] == [r["iteration"] for r in straight]
    for key in {"loss": ["validation_loss"], "rmse": ["validation_rmse_score"],
                "both": ["validation_loss", "validation_rmse_score"]}[criterion]:
        assert any(key in r for r in straight)
        assert [r.get(key) for r in resumed] == [r.get(key) for r in straight]
    a = Potential.load(tmp_path / "straight" / "potential.mtp").parameter_vector()
    b = Potential.load(tmp_path / "part" / "potential.mtp").parameter_vector()
    np.testing.assert_array_equal(a, b)


RESTART_SETS = ["output.validation_every=1", "optimizer.converge_window=3", "optimizer.converge_rel_improvement=0.05",
                "optimizer.rel_decrease=0", "output.checkpoint_every=1", "optimizer.max_iter=400", "optimizer.converge_on=loss"]


def test_restarts_reset_the_curvature_and_train_on_until_the_rule_fires_after_the_last(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", *RESTART_SETS, f"output.directory={tmp_path / 'once'}"])
    once = _records(tmp_path / "once")
    main(["train", str(cfg), "--set", *RESTART_SETS, "optimizer.restarts=2", f"output.directory={tmp_path / 'twice'}"])
    out = capsys.readouterr().out
    recs = _records(tmp_path / "twice")
    fired = [r["iteration"] for r in recs if r.get("converged")]
    assert len(fired) == 3 and fired[0] == once[-1]["iteration"]       # the same run up to the first firing
    assert [r["loss"] for r in recs[:len(once)]] == [r["loss"] for r in once]
    assert "BFGS restart 1 of 2 at iteration" in out and "BFGS restart 2 of 2" in out
    from mtp_lowrank.training.bfgs import BFGSState

    state = BFGSState.load(tmp_path / "twice" / "checkpoint_state.npz")
    assert state.restarts == fired[:2]
    # after each restart the rule needs `window` new checks, judged against the best before the restart
    checks = [r for r in recs if "validation_loss" in r]
    for start, stop in zip(fired, fired[1:]):
        after = [r["validation_loss"] for r in checks if start < r["iteration"] <= stop]
        best_before = min(r["validation_loss"] for r in checks if r["iteration"] <= start)
        assert len(after) >= 3 and converged([best_before] + after, 3, 0.05)
        assert not converged([best_before] + after[:-1], 3, 0.05)
    report = json.loads((tmp_path / "twice" / "report.json").read_text())
    assert report["message"].startswith("converged") and recs[-1]["iteration"] == fired[-1]


def test_resume_after_a_restart_continues_exactly(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    sets = RESTART_SETS[:-1] + ["optimizer.restarts=1"]
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'straight'}"])
    straight = _records(tmp_path / "straight")
    first = [r["iteration"] for r in straight if r.get("converged")][0]
    stop = first + 1   # stopped after the restart, before the rule can fire again
    assert stop < straight[-1]["iteration"]
    main(["train", str(cfg), "--set", *sets, f"optimizer.max_iter={stop}", f"output.directory={tmp_path / 'part'}"])
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=400", f"output.directory={tmp_path / 'part'}",
          "--resume", str(tmp_path / "part" / "checkpoint.mtp")])
    resumed = _records(tmp_path / "part")
    assert [r["iteration"] for r in resumed] == [r["iteration"] for r in straight]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    a = Potential.load(tmp_path / "straight" / "potential.mtp").parameter_vector()
    b = Potential.load(tmp_path / "part" / "potential.mtp").parameter_vector()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sets,message", [
    (["optimizer.restarts=1", "optimizer.method=rmf"], "'optimizer.restarts' applies to method bfgs, not rmf"),
    (["optimizer.restarts=1", "optimizer.converge_window=0"], "'optimizer.restarts' needs the convergence rule"),
])
def test_restarts_without_bfgs_or_the_rule_are_refused(tmp_path, sets, message):
    cfg = _write_config(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["train", str(cfg), "--set", *sets])
    assert message in str(e.value.code)


def test_a_converged_run_resumed_with_restarts_continues_as_if_it_had_them(tmp_path):
    """Raising optimizer.restarts and resuming a run that converged restarts at the point where it
    stopped: the result is the run that had the restarts from the start."""
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", *RESTART_SETS, "optimizer.restarts=1", f"output.directory={tmp_path / 'straight'}"])
    main(["train", str(cfg), "--set", *RESTART_SETS, f"output.directory={tmp_path / 'later'}"])
    (tmp_path / "later" / "report.json").unlink()
    main(["train", str(cfg), "--set", *RESTART_SETS, "optimizer.restarts=1", f"output.directory={tmp_path / 'later'}",
          "--resume", str(tmp_path / "later" / "checkpoint.mtp")])
    straight, later = _records(tmp_path / "straight"), _records(tmp_path / "later")
    assert [r["loss"] for r in later] == [r["loss"] for r in straight]
    assert sum(bool(r.get("converged")) for r in later) == 2


def test_resuming_on_another_rule_is_refused_with_the_setting_to_use(tmp_path, capsys):
    from test_training_run import _exit_message

    cfg = _write_config(tmp_path)
    sets = ["output.validation_every=1", "output.checkpoint_every=1", "optimizer.max_iter=3"]
    main(["train", str(cfg), "--set", *sets, "optimizer.converge_on=loss"])
    ckpt = str(tmp_path / "run" / "checkpoint.mtp")
    msg = _exit_message(["train", str(cfg), "--set", *sets, "optimizer.max_iter=6", "--resume", ckpt])
    assert str(tmp_path / "run" / "metrics.jsonl") in msg
    assert "watched the validation loss (optimizer.converge_on: loss)" in msg
    assert "--set optimizer.converge_on=loss" in msg
    msg = _exit_message(["train", str(cfg), "--set", *sets, "optimizer.max_iter=6", "optimizer.converge_on=both",
                         "--resume", ckpt])
    assert "--set optimizer.converge_on=loss" in msg
    main(["train", str(cfg), "--set", *sets, "optimizer.max_iter=6", "optimizer.converge_on=loss", "--resume", ckpt])
    assert json.loads((tmp_path / "run" / "report.json").read_text())["iterations"] == 6


def test_the_default_rule_works_on_data_without_forces(tmp_path, capsys):
    """Energies only (no forces in the file): the score is the energy RMSE, and the rule fires."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    cfg = _write_config(tmp_path)
    images = ase.io.read(tmp_path / "train.xyz", ":")
    for a in images:
        a.calc = SinglePointCalculator(a, energy=a.get_potential_energy())
    ase.io.write(tmp_path / "train.xyz", images)
    sets = ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
            "optimizer.converge_rel_improvement=0.05", "optimizer.rel_decrease=0"]
    main(["train", str(cfg), "--set", *sets])
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["message"].startswith("converged: validation rmse score"), report["message"]
    checks = [r for r in _records(tmp_path / "run") if "validation_rmse_score" in r]
    assert all(r["validation_rmse_score"] == pytest.approx(r["validation_energy_rmse_meV_per_atom"], rel=1e-12)
               for r in checks)


def test_keep_checks_saves_the_iterate_of_every_check_and_overwrite_clears_them(tmp_path):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=12", "output.validation_every=3", "optimizer.converge_window=100",
            "output.keep_checks=true"]
    main(["train", str(cfg), "--set", *sets])
    run = tmp_path / "run"
    checks = [r["iteration"] for r in _records(run) if "validation_rmse_score" in r]
    saved = sorted(run.glob("checks/iteration_*.mtp"))
    assert checks and [int(p.stem.split("_")[1]) for p in saved] == checks
    kept = json.loads((run / "report.json").read_text())["kept_iteration"]
    np.testing.assert_array_equal(Potential.load(run / "checks" / f"iteration_{kept:06d}.mtp").parameter_vector(),
                                  Potential.load(run / "best_validation.mtp").parameter_vector())
    assert len({p.read_text() for p in saved}) == len(saved)   # the iterates, not one potential saved again
    main(["train", str(cfg), "--overwrite", "--set", "optimizer.max_iter=2", "output.validation_every=3"])
    assert not (run / "checks").exists()
