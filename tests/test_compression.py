"""Choosing a rank with `mtp-lowrank compress`: the spectrum, the scan on data, the warning when
truncation alone ruins a trained potential, and the retraining that repairs it."""

from __future__ import annotations

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.cli import main
from mtp_lowrank.compression import scan_ranks, truncation_table

from conftest import random_potential
from test_training_optimize import labelled


def test_truncation_table_matches_the_compressed_potentials():
    pot = random_potential(level=10, n_species=2, seed=3)
    rows = truncation_table(pot)
    assert [r["rank"] for r in rows] == list(range(1, pot.max_mf_rank() + 1))
    for r in rows:
        mf = pot.to_mf(r["rank"])
        assert r["radial_parameters"] == mf.parameter_count()
        err = np.linalg.norm(mf.radial_coeffs - pot.radial_coeffs) / np.linalg.norm(pot.radial_coeffs)
        assert r["relative_error"] == pytest.approx(err, abs=1e-12)
    assert rows[-1]["relative_error"] < 1e-12


@pytest.fixture
def trained(tmp_path):
    """A 'trained' potential (the teacher) and data it labelled."""
    import ase.io

    teacher = random_potential(level=8, n_species=2, seed=7)
    teacher = teacher.replace(moment_coeffs=teacher.moment_coeffs * 0.02)   # energies of a few eV/atom
    teacher.save(tmp_path / "teacher.mtp", mlip_compatible=False)
    ase.io.write(tmp_path / "data.xyz", labelled(teacher, count=30, seed=2))
    return teacher, tmp_path


def test_scan_prints_every_rank_and_warns_when_truncation_degrades(trained, capsys):
    teacher, d = trained
    main(["compress", str(d / "teacher.mtp"), "--mf", "1", "-o", str(d / "mf1.mtp"), "--scan", str(d / "data.xyz")])
    out = capsys.readouterr().out
    assert "sigma_r" in out and "rel. error" in out
    for r in range(1, teacher.max_mf_rank() + 1):
        assert f"mf {r}" in out
    assert "WARNING: truncation alone degrades this potential" in out and "--finetune DATA" in out
    assert "relative Frobenius error of C" in out
    rows = scan_ranks(teacher, __import__("ase.io").io.read(d / "data.xyz", ":"))
    assert rows[0]["energy_rmse"] < 0.01   # the teacher on its own (rounded) labels
    assert rows[-1]["energy_rmse"] == pytest.approx(rows[0]["energy_rmse"], abs=1e-6)   # full rank is exact
    assert rows[1]["energy_rmse"] > 100 * rows[0]["energy_rmse"]


def test_without_data_a_trained_truncation_is_flagged(trained, capsys):
    _, d = trained
    main(["compress", str(d / "teacher.mtp"), "--tt", "1", "1", "1", "-o", str(d / "tt.mtp")])
    out = capsys.readouterr().out
    assert "TT unfolding 1 singular values" in out and "rarely usable as it is" in out


def test_finetune_repairs_the_truncation(trained, capsys):
    _, d = trained
    main(["compress", str(d / "teacher.mtp"), "--mf", "1", "-o", str(d / "mf1.mtp"),
          "--finetune", str(d / "data.xyz"), "--iterations", "30"])
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("held-out RMSE"))
    before, after = [float(x) for x in line.split(": E ")[1].split(" meV/atom")[0].split(" -> ")]
    assert after < 0.5 * before, line
    assert Potential.load(d / "mf1.mtp").ranks == (1,)
