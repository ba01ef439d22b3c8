"""`mtp-lowrank train` as a user meets it: run directories, Ctrl-C, resume checks, configuration
values, data selection and the errors that name files and configurations."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from mtp_lowrank.cli import main
from mtp_lowrank.training.config import ConfigError, SCHEMA, schema_text, validate

from test_cli import _write_config


def _exit_message(args):
    with pytest.raises(SystemExit) as e:
        main(args)
    return str(e.value.code)


def test_existing_run_directory_is_refused_unless_overwrite(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "optimizer.max_iter=2"])
    first = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(first) == 2
    assert "already holds a run" in _exit_message(["train", str(cfg), "--set", "optimizer.max_iter=3"])
    assert (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() == first   # untouched
    main(["train", str(cfg), "--overwrite", "--set", "optimizer.max_iter=3"])
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [1, 2, 3]   # one run, not two appended
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in _exit_message(["train", str(cfg), "--set", f"output.directory={tmp_path / 'file'}"])


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_exits_130_and_keeps_the_last_record(tmp_path, signal_name):
    """SIGINT (Ctrl-C) or SIGTERM (a batch system's time limit, `kill`) during training: a
    checkpoint is written, metrics.jsonl holds every iteration the optimizer took, and the exit
    status is 130 (like any interrupted Unix program)."""
    import signal

    import ase.io

    from conftest import interrupted_run, random_potential
    from test_training_optimize import labelled

    cfg = _write_config(tmp_path)
    # enough data and parameters that the optimizer cannot converge (and stop by itself) before
    # the signal arrives, however slowly a loaded machine runs this test
    ase.io.write(tmp_path / "train.xyz", labelled(random_potential(level=10, n_species=2, seed=5), count=40, seed=4))
    cmd = [sys.executable, "-c", "from mtp_lowrank.cli import main; main()", "train", str(cfg), "--set",
           "model.level=10", "optimizer.max_iter=100000", "optimizer.method=bfgs", "output.checkpoint_every=0",
           "output.validation_every=1", "optimizer.rel_decrease=0", "optimizer.gtol=0",
           "optimizer.converge_window=0"]
    metrics = tmp_path / "run" / "metrics.jsonl"
    status, out, err = interrupted_run(cmd, metrics, 5, wait=120, sig=getattr(signal, signal_name))
    assert status == 130, out[-2000:] + err[-2000:]
    assert "Traceback" not in err
    records = [json.loads(l) for l in metrics.read_text().splitlines()]
    with np.load(tmp_path / "run" / "checkpoint_state.npz") as z:
        done = int(z["iteration"])
    assert [r["iteration"] for r in records] == list(range(1, done + 1)), (done, [r["iteration"] for r in records][-5:])
    assert (tmp_path / "run" / "checkpoint.mtp").exists()
    assert not (tmp_path / "run" / "report.json").exists()   # report.json marks a finished run
    assert "--resume" in out
    assert "train      E rmse" not in out   # after Ctrl-C the training split is not scored (it can take minutes)


def test_resume_refuses_a_different_model(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "optimizer.max_iter=2"])
    ckpt = str(tmp_path / "run" / "checkpoint.mtp")
    msg = _exit_message(["train", str(cfg), "--set", "model.rank=1", "model.level=8", "--resume", ckpt])
    assert "the checkpoint is not the model this configuration describes" in msg
    assert "model.rank: 1 in the configuration, 2 in the checkpoint" in msg and "model.level: 8" in msg


def test_corrupt_optimizer_state_is_named(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "optimizer.max_iter=2"])
    state = tmp_path / "run" / "checkpoint_state.npz"
    state.write_bytes(state.read_bytes()[:100])
    msg = _exit_message(["train", str(cfg), "--resume", str(tmp_path / "run" / "checkpoint.mtp")])
    assert str(state) in msg and "not a readable optimizer state" in msg and "delete it" in msg


@pytest.mark.parametrize("override,message", [
    ("loss.force_weight=-1", "'loss.force_weight' must be >= 0; got -1"),
    ("optimizer.max_iter=-1", "'optimizer.max_iter' must be >= 0; got -1"),
    ("optimizer.mu=1.5", "'optimizer.mu' must be in (0, 1); got 1.5"),
    ("data.validation_fraction=1", "'data.validation_fraction' must be in [0, 1); got 1"),
    ("model.rank=0", "'model.rank' must be >= 1; got 0"),
    ("model.ranks=[2, 0, 1]", "'model.ranks' must be three integers >= 1"),
    ("loss.energy_weight=.nan", "'loss.energy_weight' must be finite"),
    ("data.species=[Li, Li]", "species Li appears twice"),
    ("data.species=[Li, Qq]", "'Qq' is not a chemical symbol"),
    ("data.max_configs=0", "'data.max_configs' must be >= 1; got 0"),
    ("model.rank=500", "MF rank must be between 1 and 4"),
    ("data.select=[0, 99]", "data.select: index 99 is not a configuration index (0..7)"),
    ("loss.group_weights={'*_Surface': -2}", "'loss.group_weights.*_Surface' must be a number >= 0; got -2"),
    ("loss.group_weights={'Surfce': 2}", "loss.group_weights: 'Surfce' matches no group of the training data"),
])
def test_every_value_is_checked(tmp_path, override, message):
    cfg = _write_config(tmp_path)
    assert message in _exit_message(["train", str(cfg), "--set", override])


def test_all_weights_zero_is_refused():
    with pytest.raises(ConfigError, match="loss weights are all zero"):
        validate({"data": {"train": "x"}, "model": {"min_dist": 1, "max_dist": 5},
                  "loss": {"energy_weight": 0, "force_weight": 0}})


def test_print_config_lists_every_key_with_its_default(capsys):
    main(["train", "--print-config"])
    out = capsys.readouterr().out
    assert out == schema_text() + "\n"
    for sec, keys in SCHEMA.items():
        for key in keys:
            line = next(l for l in out.splitlines() if l.startswith(f"  {key}:") and True)
            assert "#" in line and line.split("#", 1)[1].strip(), f"{sec}.{key} has no description"


@pytest.mark.parametrize("select,max_configs,expected", [("0:4", None, 4), ([1, 3, 5, 7], None, 4), (None, 5, 5),
                                                         ("::2", 3, 3)])
def test_select_and_max_configs(tmp_path, capsys, select, max_configs, expected):
    cfg = _write_config(tmp_path)
    sets = ["optimizer.max_iter=1", "data.validation_fraction=0.25"]
    if select is not None:
        sets.append(f"data.select={json.dumps(select)}")
    if max_configs is not None:
        sets.append(f"data.max_configs={max_configs}")
    main(["train", str(cfg), "--set", *sets])
    out = capsys.readouterr().out
    assert f"data.select / data.max_configs: {expected} of 8 configurations" in out
    n_val = max(1, round(0.25 * expected))
    assert f"{expected - n_val} training / {n_val} validation configurations" in out


def test_data_errors_name_the_file_and_configuration(tmp_path):
    import ase.io
    from ase import Atoms

    from test_training_optimize import labelled
    from conftest import random_potential

    images = labelled(random_potential(level=6, n_species=2, seed=5), count=4, seed=1)
    images[2].calc.results["energy"] = float("nan")
    images[2].info["group"] = "broken"
    ase.io.write(tmp_path / "bad.xyz", images)
    cfg = _write_config(tmp_path)
    msg = _exit_message(["train", str(cfg), "--set", f"data.train={tmp_path / 'bad.xyz'}", "data.validation_fraction=0"])
    assert f"{tmp_path / 'bad.xyz'}:2" in msg and "group broken" in msg and "reference energy is nan" in msg
    ase.io.write(tmp_path / "empty.xyz", [images[0], Atoms()])
    msg = _exit_message(["train", str(cfg), "--set", f"data.train={tmp_path / 'empty.xyz'}"])
    assert f"{tmp_path / 'empty.xyz'}:1: configuration has no atoms" in msg


def test_fine_tune_path_compresses_a_trained_base_and_trains_it_compressed(tmp_path, capsys):
    """The study's sixth model kind (FT): model.init = a converged base, representation mf:
    the base is truncated to the rank and trained further in compressed form."""
    from mtp_lowrank import Potential
    from mtp_lowrank.training import errors, load_images

    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.representation=full", "optimizer.max_iter=30",
          f"output.directory={tmp_path / 'base'}"])
    base = Potential.load(tmp_path / "base" / "potential.mtp")
    main(["train", str(cfg), "--set", f"model.init={tmp_path / 'base' / 'potential.mtp'}", "model.rank=1",
          "optimizer.max_iter=30", f"output.directory={tmp_path / 'ft'}"])
    ft = Potential.load(tmp_path / "ft" / "potential.mtp")
    assert ft.format == "mf" and ft.ranks == (1,)
    images = load_images(tmp_path / "train.xyz")
    truncated = errors(base.to_mf(1), images, by_group=False)["all"]["energy_meV_per_atom"]["rmse"]
    tuned = errors(ft, images, by_group=False)["all"]["energy_meV_per_atom"]["rmse"]
    assert tuned < 0.7 * truncated   # measured: about 0.5


def test_mfra_warm_start_begins_at_the_init_rank_one_truncation(tmp_path):
    """optimizer.method mfra with model.init: the first stage starts from the init's best rank-1
    part (not from random factors that would discard it)."""
    import yaml

    from mtp_lowrank.training.run import initial_potential, load_data

    from conftest import random_potential

    cfg = _write_config(tmp_path)
    raw = yaml.safe_load(cfg.read_text())
    train, val, species = load_data(validate(raw)["data"], lambda *a: None)
    base = random_potential(level=6, n_species=len(species), seed=7)
    base.save(tmp_path / "base.mtp")
    raw["model"].update(init=str(tmp_path / "base.mtp"), representation="mf", radial_floor=None)
    raw["optimizer"] = {"method": "mfra", "r_max": 2, "linear_init": False}
    pot = initial_potential(validate(raw), species, None, train, None)
    assert pot.format == "mf" and pot.ranks == (1,)
    np.testing.assert_allclose(pot.radial_coeffs, base.to_mf(1).radial_coeffs, rtol=1e-12, atol=1e-14)


def test_warm_start_keeps_the_init_potential(tmp_path):
    """model.init (same representation, linear_init at its default): training starts from the
    init as it is; its linear parameters are not refitted to energies alone, which would undo
    its force fit. The first iteration's loss is at most the init's final loss."""
    import json

    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.representation=full", "loss.force_weight=0.1", "optimizer.max_iter=25",
          f"output.directory={tmp_path / 'first'}"])
    first = [json.loads(l) for l in (tmp_path / "first" / "metrics.jsonl").read_text().splitlines()]
    main(["train", str(cfg), "--set", "model.representation=full", "loss.force_weight=0.1", "optimizer.max_iter=2",
          f"model.init={tmp_path / 'first' / 'potential.mtp'}", f"output.directory={tmp_path / 'second'}"])
    second = [json.loads(l) for l in (tmp_path / "second" / "metrics.jsonl").read_text().splitlines()]
    best_first = min(r["loss"] for r in first)
    assert second[0]["loss"] <= best_first * (1 + 1e-6)


def test_a_signal_while_a_record_is_logged_still_writes_it(tmp_path, ctrl_c_in_training):
    """SIGTERM (or Ctrl-C) arriving while MetricsLog prints an iteration's line: the record is
    written whole, then the run is interrupted. Before, the interrupt escaped the print and the
    record was lost, so the resumed run's metrics skipped an iteration."""
    import os
    import signal

    from mtp_lowrank.training.interrupt import sigterm_as_interrupt
    from mtp_lowrank.training.run import MetricsLog

    class NoErrors:   # a loss with nothing to report
        def recent(self, loss):
            return {}, None

    def log(line):   # the signal arrives mid-print
        os.kill(os.getpid(), signal.SIGTERM)

    path = tmp_path / "metrics.jsonl"
    metrics = MetricsLog(path, NoErrors(), None, 0, log, lambda: "-", append=False)
    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        metrics({"iteration": 7, "loss": 1.5, "grad_norm": 2.0})
    metrics.close()
    assert [json.loads(l)["iteration"] for l in path.read_text().splitlines()] == [7]
