"""The published SNAP as the study's accuracy peer (examples/training/snap_reference.py): the
LAMMPS plumbing every SNAP run of the study shares. Failures are reported, not parsed as
results; SNAP's forces come back in each cell's own frame (LAMMPS works in a rotated one for a
general triclinic cell) and are the energy's gradient."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "training"))
SHARED = ROOT.parent / "shared" / "data" / "nbmotaw"
needs_snap = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/nbmotaw absent")


def test_a_failed_lammps_run_is_an_error_with_lammps_own_message(tmp_path):
    from snap_reference import run_lammps

    with pytest.raises(RuntimeError, match="Unknown command"):
        run_lammps(tmp_path, "units metal\nno_such_command 1\n")


def skewed_cell():
    """A 16-atom bcc Nb-Mo-Ta-W cell, sheared into a general triclinic one and rattled."""
    from ase.build import bulk

    a = bulk("Mo", "bcc", a=3.2, cubic=True).repeat(2)
    a.set_chemical_symbols(["Nb", "Mo", "Ta", "W"] * 4)
    cell = a.get_cell().array.copy()
    cell[1, 0] += 0.4
    cell[2] += [0.3, -0.2, 0.0]
    a.set_cell(cell, scale_atoms=True)
    a.rattle(0.05, seed=1)
    return a


@needs_snap
def test_snap_forces_are_the_rotated_cells_forces_and_the_energy_gradient():
    from snap_reference import snap_predictions

    a = skewed_cell()
    rot = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    b = a.copy()
    b.set_cell(a.get_cell().array @ rot.T, scale_atoms=False)
    b.positions = a.positions @ rot.T
    h = 1e-4
    moved = [a.copy() for _ in range(2)]
    moved[0].positions[3, 1] += h
    moved[1].positions[3, 1] -= h
    e, f = snap_predictions([a, b] + moved, SHARED)
    assert abs(e[0] - e[1]) < 1e-8 * len(a)
    np.testing.assert_allclose(f[1], f[0] @ rot.T, atol=1e-8)
    assert abs(-(e[2] - e[3]) / (2 * h) - f[0][3, 1]) < 1e-4
    assert np.abs(f[0]).max() > 0.01   # a rattled cell has forces, so the checks above bite
