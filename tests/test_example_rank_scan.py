"""Errors vs MF rank (examples/training/rank_scan.py) from a toy base run: each rank scanned with
several random seeds, resumable point by point, reported as mean ± std over the seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "training"))


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    from mtp_lowrank.cli import main

    from test_cli import _write_config

    tmp = tmp_path_factory.mktemp("rank_scan")
    cfg = _write_config(tmp)
    main(["train", str(cfg), "--set", "model.representation=full", "model.rank=null", "optimizer.max_iter=4"])
    return tmp / "run"


def test_seeds_per_rank_resume_and_report(base_run, tmp_path):
    from rank_scan import report_section, run_scan

    out = tmp_path / "scan.json"
    scan = run_scan(base_run, out, ranks=(1, 2), iterations=3, subset_size=4, seeds=(0, 1))
    assert sorted(k for k in scan if k not in ("settings", "base")) == ["1", "1_s1", "2", "2_s1"]
    assert [scan[k]["seed"] for k in ("1", "1_s1")] == [0, 1]
    assert scan["1"]["E_start"] != scan["1_s1"]["E_start"]     # another random MF, not the same one twice
    assert all(np.isfinite(scan[k][q]) for k in ("1", "1_s1", "2", "2_s1") for q in ("E", "F"))
    before = out.read_text()
    run_scan(base_run, out, ranks=(1, 2), iterations=3, subset_size=4, seeds=(0, 1))   # resumed: nothing to do
    assert out.read_text() == before
    lines = report_section(out, "plots/scan.png")
    [row] = [line for line in lines if line.startswith("| 1 |")]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    e = np.array([scan[k]["E"] for k in ("1", "1_s1")])
    assert cells[2] == "2" and cells[5] == f"{e.mean():.2f} ± {e.std(ddof=1):.2f}"
    assert (tmp_path / "plots" / "scan.png").exists()
    with pytest.raises(SystemExit, match="no random seed"):
        run_scan(base_run, tmp_path / "truncated.json", ranks=(1,), iterations=1, start="truncate", seeds=(0, 1))


@pytest.mark.parametrize("kind", ["rmf", "tf"])
def test_rmf_and_tf_scans_count_their_own_parameters(base_run, tmp_path, kind):
    """--kind rmf / tf: each point is that model (R-MF counted by its manifold's dimension, TF by
    its cores at TT ranks (N_T, r, r) for r <= N_b), trained, scored; the file remembers its kind and refuses
    points of another; the report names the kind."""
    from mtp_lowrank import Potential
    from rank_scan import report_section, run_scan

    base = Potential.load(base_run / "potential.mtp")
    nt, nf, nb = base.n_species, base.radial_funcs_count, base.radial_basis_size
    m, n = nt * nt, nf * nb
    out = tmp_path / f"scan_{kind}.json"
    scan = run_scan(base_run, out, ranks=(1, 2), iterations=3, subset_size=4, kind=kind)
    assert scan["settings"]["kind"] == kind
    # TF rank r: TT ranks (N_T, r, min(r, N_b)), cores N_T x N_T, N_T x N_T x r, r x N_f x r3, r3 x N_b
    expected = {"rmf": lambda r: r * (m + n - r), "tf": lambda r: nt * nt + r * nt * nt + r * nf * r + r * nb}[kind]
    assert [scan[k]["radial"] for k in ("1", "2")] == [expected(1), expected(2)]
    assert all(np.isfinite(scan[k][q]) and scan[k][q] < 10 * scan[k][q + "_start"] for k in ("1", "2") for q in ("E", "F"))
    with pytest.raises(SystemExit, match=f"--kind {kind}"):
        run_scan(base_run, out, ranks=(3,), iterations=1, subset_size=4, kind="mf")
    lines = report_section(out, "plots/scan.png")
    assert any(line.startswith(f"## Errors vs {'R-MF rank' if kind == 'rmf' else 'TF rank r'}") for line in lines)
