"""The mtp-lowrank command line (run in-process through cli.main)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mtp_lowrank import Potential, read_cfg
from mtp_lowrank.cli import main
from mtp_lowrank.training import load_images, split

from conftest import mpirun_or_skip, random_potential
from test_training_optimize import labelled


def test_info_compress_convert_eval(tmp_path, capsys):
    teacher = random_potential(level=8, n_species=2, seed=2)
    teacher.save(tmp_path / "full.mtp")                       # MLIP-compatible: no species
    images = labelled(teacher, count=4)
    for k, a in enumerate(images):
        a.info["group"] = f"g{k % 2}"
    import ase.io

    ase.io.write(tmp_path / "data.xyz", images)
    main(["info", str(tmp_path / "full.mtp"), "--species", "Li", "Na"])
    assert "level:           8" in capsys.readouterr().out
    main(["compress", str(tmp_path / "full.mtp"), "--tt", "2", "3", "2", "-o", str(tmp_path / "tt.mtp"),
          "--species", "Li", "Na"])
    tt = Potential.load(tmp_path / "tt.mtp")
    assert tt.format == "tt" and tt.ranks == (2, 3, 2) and tt.species == ["Li", "Na"]
    main(["convert", str(tmp_path / "data.xyz"), str(tmp_path / "data.cfg"), "--species", "Li", "Na"])
    back = read_cfg(tmp_path / "data.cfg", species=["Li", "Na"])
    assert len(back) == 4 and back[0].get_potential_energy() == pytest.approx(images[0].get_potential_energy())
    main(["convert", str(tmp_path / "full.mtp"), str(tmp_path / "named.mtp"), "--species", "Li", "Na"])
    assert Potential.load(tmp_path / "named.mtp").species == ["Li", "Na"]
    capsys.readouterr()
    main(["eval", str(tmp_path / "named.mtp"), str(tmp_path / "data.xyz"), "--json"])
    err = json.loads(capsys.readouterr().out)
    # extxyz stores numbers rounded to about 8 significant digits
    assert err["all"]["energy_meV_per_atom"]["rmse"] < 1e-2 and set(err["groups"]) == {"g0", "g1"}
    main(["eval", str(tmp_path / "named.mtp"), str(tmp_path / "data.cfg")])
    assert "meV/atom" in capsys.readouterr().out


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    with pytest.raises(SystemExit, match="mtp-lowrank info: .*missing.mtp: no such potential file"):
        main(["info", str(tmp_path / "missing.mtp")])


def test_split_is_seeded_and_disjoint():
    items = list(range(50))
    tr, va = split(items, 0.1, seed=3)
    assert len(va) == 5 and sorted(tr + va) == items
    assert split(items, 0.1, seed=3) == (tr, va) and split(items, 0.1, seed=4) != (tr, va)


def _write_config(tmp_path, extra=""):
    teacher = random_potential(level=6, n_species=2, seed=5)
    import ase.io

    ase.io.write(tmp_path / "train.xyz", labelled(teacher, count=8, seed=4))
    text = f"""
data:
  train: {tmp_path / 'train.xyz'}
  validation_fraction: 0.25
  species: [Li, Na]
model:
  level: 6
  min_dist: 1.8
  max_dist: 4.6
  radial_basis_size: 6
  representation: mf
  rank: 2
loss:
  force_weight: 0.01
optimizer:
  max_iter: 6
output:
  directory: {tmp_path / 'run'}
  checkpoint_every: 2
  validation_every: 2
{extra}"""
    (tmp_path / "train.yaml").write_text(text)
    return tmp_path / "train.yaml"


@pytest.mark.parametrize("method", ["bfgs", "rmf", "mfra"])
def test_train_command_writes_potential_metrics_checkpoint_report(tmp_path, capsys, method):
    cfg = _write_config(tmp_path)
    extra = ["optimizer.method=" + method] + (["optimizer.r_max=2", "optimizer.s=3"] if method == "mfra" else [])
    main(["train", str(cfg), "--set", *extra])
    out = capsys.readouterr().out
    assert "iter      1" in out and "validation" in out
    run = tmp_path / "run"
    pot = Potential.load(run / "potential.mtp")
    assert pot.format == "mf" and pot.ranks == (2,) and pot.species == ["Li", "Na"]
    assert (run / "checkpoint.mtp").exists()
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert lines and all("loss" in l and "train_force_rmse_meV_per_A" in l for l in lines)
    assert [l["iteration"] for l in lines if "validation_energy_rmse_meV_per_atom" in l] == \
        [l["iteration"] for l in lines if l["iteration"] % 2 == 0]
    assert "train E" in out and "val E" in out
    report = json.loads((run / "report.json").read_text())
    assert report["validation"]["all"]["energy_meV_per_atom"]["n"] == 2
    if method == "bfgs":  # BFGS's last iterate is its best: the logged errors are the report's
        assert lines[-1]["train_energy_rmse_meV_per_atom"] == \
            pytest.approx(report["train"]["all"]["energy_meV_per_atom"]["rmse"], rel=1e-9)
        assert lines[-1]["train_force_rmse_meV_per_A"] == \
            pytest.approx(report["train"]["all"]["forces_meV_per_A"]["rmse"], rel=1e-9)
    for png in ("parity_train.png", "parity_validation.png", "learning_curve.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # resume from the checkpoint
    main(["train", str(cfg), "--set", *extra, "optimizer.max_iter=2", "--resume", str(run / "checkpoint.mtp")])
    assert "resuming" in capsys.readouterr().out


@pytest.mark.parametrize("override,message", [
    ("optimizer.max_iters=3", "unknown key 'optimizer.max_iters' (did you mean 'max_iter'?)"),
    ("model.representation=svd", "'model.representation' must be one of full, mf, tt; got 'svd'"),
    ("loss.force_weight=heavy", "'loss.force_weight' must be float/int; got 'heavy'"),
    ("model.rank=null", "'model.rank' is required for representation mf"),
])
def test_bad_configuration_names_the_key(tmp_path, override, message):
    cfg = _write_config(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["train", str(cfg), "--set", override])
    assert message in str(e.value)


@pytest.mark.parametrize("method,stop", [("bfgs", 3), ("rmf", 3), ("mfra", 2), ("mfra", 4)])
def test_resume_is_exact(tmp_path, capsys, method, stop):
    """A run stopped after `stop` iterations and resumed from its checkpoint ends bit for bit
    where the uninterrupted run ends (MFRA: stopped inside the first stage, or just after the
    rank augmentation)."""
    cfg = _write_config(tmp_path)
    opts = ["optimizer.method=" + method] + (["optimizer.r_max=2", "optimizer.s=3"] if method == "mfra" else [])
    main(["train", str(cfg), "--set", *opts, "optimizer.max_iter=6", "output.directory=" + str(tmp_path / "straight")])
    main(["train", str(cfg), "--set", *opts, f"optimizer.max_iter={stop}", "output.checkpoint_every=1",
          "output.directory=" + str(tmp_path / "part")])
    main(["train", str(cfg), "--set", *opts, "optimizer.max_iter=6", "output.directory=" + str(tmp_path / "part"),
          "--resume", str(tmp_path / "part" / "checkpoint.mtp")])
    assert "resuming exactly" in capsys.readouterr().out
    if method != "bfgs":
        with pytest.raises(SystemExit, match="written by optimizer.method"):
            main(["train", str(cfg), "--set", "optimizer.method=bfgs", "output.directory=" + str(tmp_path / "part"),
                  "--resume", str(tmp_path / "part" / "checkpoint.mtp")])
    a = Potential.load(tmp_path / "straight" / "potential.mtp").parameter_vector()
    b = Potential.load(tmp_path / "part" / "potential.mtp").parameter_vector()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sets", [
    ["optimizer.max_iter=4"],
    # the rule on the validation RMSEs fires on both ranks at the same check (no hang)
    ["optimizer.max_iter=400", "output.validation_every=1", "optimizer.converge_window=3",
     "optimizer.converge_rel_improvement=0.05", "optimizer.rel_decrease=0", "optimizer.converge_on=rmse"],
], ids=["budget", "rmse-rule"])
def test_train_under_mpirun_matches_one_process(tmp_path, capsys, sets):
    """`mpirun -np 2 mtp-lowrank train` splits the data over ranks, prints and writes once, and
    ends where one process ends."""
    mpirun = mpirun_or_skip()
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", *sets, "output.directory=" + str(tmp_path / "one")])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([mpirun, "-np", "2", sys.executable, "-m", "mtp_lowrank.cli", "train", str(cfg), "--set",
                           *sets, "output.directory=" + str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("data parallel over 2 MPI ranks") == 1
    assert proc.stdout.count("iter      1 ") == 1
    one, two = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("one", "two"))
    assert two["message"] == one["message"] and two["iterations"] == one["iterations"]
    assert one["message"].startswith("converged: validation rmse score" if len(sets) > 1 else "maximum number")
    a = Potential.load(tmp_path / "one" / "potential.mtp").parameter_vector()
    b = Potential.load(tmp_path / "two" / "potential.mtp").parameter_vector()
    np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10 * np.abs(a).max())


@pytest.mark.parametrize("method", ["bfgs", "rmf", "mfra"])
def test_isolated_atom_energies_are_kept(tmp_path, capsys, method):
    """With data.isolated_atom_energies the species coefficients stay at those energies through
    training, so a lone atom of the trained potential has exactly its isolated-atom energy."""
    from ase import Atoms

    cfg = _write_config(tmp_path)
    extra = ["optimizer.method=" + method, "data.isolated_atom_energies={Li: -1.25, Na: -2.5}"]
    extra += ["optimizer.r_max=2", "optimizer.s=3"] if method == "mfra" else []
    main(["train", str(cfg), "--set", *extra])
    assert "fixed at the isolated-atom energies" in capsys.readouterr().out
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    np.testing.assert_array_equal(pot.species_coeffs, [-1.25, -2.5])
    assert np.any(pot.moment_coeffs != 0)
    for symbol, energy in (("Li", -1.25), ("Na", -2.5)):
        assert pot.evaluate(Atoms(symbol, positions=[[0, 0, 0]]))["energy"] == energy
    with pytest.raises(SystemExit, match="no energy for Na"):
        main(["train", str(cfg), "--overwrite", "--set", "data.isolated_atom_energies={Li: -1.0}"])
    with pytest.raises(SystemExit, match="isolated_atom_energies.Li' must be a number"):
        main(["train", str(cfg), "--set", "data.isolated_atom_energies={Li: low, Na: -1.0}"])


def test_ensemble_reports_mean_and_std_over_seeds(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.ensemble=3", "model.seed=4", "optimizer.max_iter=3"])
    assert "ensemble of 3" in capsys.readouterr().out
    run = tmp_path / "run"
    members = [json.loads((run / f"seed_{s}" / "report.json").read_text()) for s in (4, 5, 6)]
    pots = [Potential.load(run / f"seed_{s}" / "potential.mtp").parameter_vector() for s in (4, 5, 6)]
    assert not np.array_equal(pots[0], pots[1]) and not np.array_equal(pots[1], pots[2])
    summary = json.loads((run / "ensemble_report.json").read_text())
    vals = [m["validation"]["all"]["forces_meV_per_A"]["rmse"] for m in members]
    got = summary["validation"]["forces_meV_per_A"]["rmse"]
    assert summary["members"] == 3
    assert got["mean"] == pytest.approx(np.mean(vals), rel=1e-12)
    assert got["std"] == pytest.approx(np.std(vals, ddof=1), rel=1e-12) and got["std"] > 0


def test_linear_fit_to_the_whole_loss_from_the_command_line(tmp_path, capsys):
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "optimizer.linear_fit=loss", "optimizer.max_iter=2"])
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if "fitted to the whole loss" in l)
    before, after = (float(w) for w in line.split(":")[1].split("(")[0].split("->"))
    assert after < before


def test_every_option_of_every_verb_has_help():
    from mtp_lowrank.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    for verb, parser in sub.choices.items():
        for action in parser._actions:
            if action.dest != "help":
                assert action.help, f"mtp-lowrank {verb} {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("args,message", [
    (["convert", "{d}/data.xyz", "{d}/data.foo"], "data.foo: cannot tell the data format from the extension"),
    (["convert", "{d}/pot.mtp", "{d}/pot.xyz"], "pot.xyz: potentials are written as .mtp or .almtp files"),
    (["compress", "{d}/pot.mtp", "--mf", "2", "-o", "{d}/pot.txt"], "pot.txt: potentials are written as .mtp"),
    (["compress", "{d}/pot.mtp", "--mf", "500", "-o", "{d}/x.mtp"], "MF rank must be between 1 and 4"),
    (["info", "{d}"], "is a directory, not a potential file"),
    (["eval", "{d}/pot.mtp", "{d}"], "is a directory, not a data file"),
])
def test_bad_paths_and_ranks_are_messages(tmp_path, args, message):
    import ase.io

    pot = random_potential(level=8, n_species=2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    ase.io.write(tmp_path / "data.xyz", labelled(pot, count=2, seed=1))
    with pytest.raises(SystemExit) as e:
        main([a.format(d=tmp_path) for a in args])
    assert message in str(e.value.code)
