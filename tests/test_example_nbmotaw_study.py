"""The Nb-Mo-Ta-W study script (examples/training/nbmotaw_study.py) at toy size, as a user runs
it: the recipe's two stages chained (the second starts from the first's potential, with the
mixing rule and mixed floors when asked), the report's recipe table, and --continue as a no-op.
Toy data: random cells labelled by a random level-6 MTP, in the study's groups."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import random_atoms

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "examples" / "training" / "nbmotaw_study.py"
SPECIES = ["Nb", "Mo", "Ta", "W"]


def toy_data(path: Path) -> Path:
    """24 labelled cells of Nb, Mo, Ta and W in the groups the balanced weights name."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    from mtp_lowrank import Potential

    teacher = Potential.from_level(6, SPECIES, min_dist=2.0, max_dist=5.0, seed=3)
    rng = np.random.default_rng(0)
    teacher = teacher.replace(species_coeffs=rng.normal(size=4), moment_coeffs=0.05 * rng.normal(size=teacher.n_basis_functions))
    images = []
    for k in range(24):
        a = random_atoms(rng, n_atoms=6, n_species=2, min_sep=2.1, volume_per_atom=16.0)
        a.set_chemical_symbols([SPECIES[k % 4] if z == a.numbers[0] else SPECIES[(k + 1) % 4] for z in a.numbers])
        res = teacher.evaluate(a)
        a.calc = SinglePointCalculator(a, energy=res["energy"], forces=res["forces"])
        a.info["group"] = ("Nb_Surface", "Mo_Elastic", "Ta_AIMD", "NbW_SS")[k % 4]
        images.append(a)
    ase.io.write(path, images, format="extxyz")
    return path


def run(*args, cwd=None):
    proc = subprocess.run([sys.executable, str(STUDY), *map(str, args)], capture_output=True, text=True, timeout=600,
                          cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_recipe_chains_its_stages_with_the_mixing_rule_and_resumes_as_a_no_op(tmp_path):
    data = toy_data(tmp_path / "toy.xyz")
    out = tmp_path / "study"
    common = ["--recipe", "--kinds", "mf", "--levels", "6", "--max-iter", "25", "--threads", "1", "--data", data,
              "--out", out]   # the recipe's mixing rule (0.1) by default
    run(*common)
    first, second = out / "runs" / "l6" / "mf_floor_mix0.1_bal_s0", out / "runs" / "l6" / "mf_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0"
    cfg1, cfg2 = (yaml.safe_load((d / "config.yaml").read_text()) for d in (first, second))
    assert cfg1["model"]["init"] is None and cfg1["loss"]["force_weight"] == 0.01 and cfg1["optimizer"]["restarts"] == 0
    assert Path(cfg2["model"]["init"]) == first / "potential.mtp" and cfg2["optimizer"]["linear_init"] is False
    assert cfg2["loss"]["force_weight"] == 0.003 and cfg2["optimizer"]["restarts"] == 2
    assert cfg1["optimizer"]["converge_on"] == "loss" and cfg2["optimizer"]["converge_on"] == "rmse"
    for cfg in (cfg1, cfg2):
        assert cfg["model"]["radial_floor"] == "mixed" and cfg["loss"]["radial_mixing"] == 0.1
        assert cfg["loss"]["group_weights"]["*_Surface"] == 10.0
    for d in (first, second):
        assert (d / "report.json").exists()
    report = (out / "report.md").read_text()
    row = [line for line in report.splitlines() if line.startswith("| 6 | MF, mixing rule 0.1, stage 2 on the RMSEs | 0 |")]
    assert len(row) == 1 and "25 / " in row[0] and "50 / " in row[0], report   # both stages, chained
    headline = next(line for line in report.splitlines() if line.startswith("| 6 | MF | "))   # the comparison's
    cells = [c.strip() for c in headline.split("|")[1:-1]]
    final = json.loads((second / "report.json").read_text())["validation"]["all"]
    assert cells[3] == "1" and float(cells[4]) == pytest.approx(final["energy_meV_per_atom"]["rmse"], abs=0.006)
    planned = run(*common, "--plan").splitlines()   # --plan names the directories the recipe wrote
    assert [line.split()[4:6] for line in planned] == [["done", first.name], ["done", second.name]], planned
    stamp = (second / "report.json").stat().st_mtime
    stdout = run(*common, "--continue")
    assert "start in" not in stdout and "continue in" not in stdout
    assert (second / "report.json").stat().st_mtime == stamp
    assert any("validation_rmse_score" in json.loads(l) for l in (second / "metrics.jsonl").read_text().splitlines())
    # stage 2 again from the same stage 1, with the rule on the validation loss (the recipe until
    # 2026-12-07): its own run, paired with the recipe's in the report, not among the comparison's seeds
    run("--continue", "--kinds", "mf", "--levels", "6", "--max-iter", "25", "--threads", "1", "--data", data, "--out", out,
        "--weights", "balanced", "--radial-floor", "data", "--mixing", "0.1", "--force-weight", "0.003", "--restarts", "2",
        "--converge-on", "loss", "--init-run", "{kind}_floor{mix}_bal_s{seed}")
    third = out / "runs" / "l6" / "mf_floor_mix0.1_bal_fw0.003_rs2_cont_s0"
    cfg3 = yaml.safe_load((third / "config.yaml").read_text())
    assert cfg3["optimizer"]["converge_on"] == "loss" and Path(cfg3["model"]["init"]) == first / "potential.mtp"
    assert cfg3["loss"] == cfg2["loss"]
    report = (out / "report.md").read_text()
    headline = next(line for line in report.splitlines() if line.startswith("| 6 | MF | "))   # the comparison's
    assert [c.strip() for c in headline.split("|")[1:-1]][3] == "1"
    pairs = [line for line in report.splitlines() if line.startswith("| 6 | MF | 0 | ")]
    assert len(pairs) == 2 and "| loss |" in pairs[0] and "| **RMSEs** |" in pairs[1], report
    for line, run_dir in zip(pairs, (third, second)):   # the kept iterate: the one report.json names
        kept = json.loads((run_dir / "report.json").read_text())["kept_iteration"]
        assert kept is not None and f"({kept}) |" in line, (line, kept)


def test_a_kind_at_another_rank_takes_the_recipe_and_has_its_own_row(tmp_path):
    """--kinds mf_r<rank>, tf_r<rank> (e.g. a rank scan's best): the kind's stage budgets and chain,
    at its own rank (the TF's: TT ranks (N_T, r, min(r, N_b))), reported as its own model, not
    pooled with the kind's seeds; rmf_r<rank> is an R-MF at that rank."""
    sys.path.insert(0, str(STUDY.parent))
    from model_kinds import apply_kind
    from study_report import model_name, model_of

    data = toy_data(tmp_path / "toy.xyz")
    out = tmp_path / "study"
    run("--recipe", "--kinds", "mf", "mf_r1", "tf_r2", "--levels", "6", "--max-iter", "5", "--threads", "1", "--data",
        data, "--out", out)
    runs = out / "runs" / "l6"
    second = runs / "mf_r1_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0"
    cfg = yaml.safe_load((second / "config.yaml").read_text())
    assert cfg["model"]["representation"] == "mf" and cfg["model"]["rank"] == 1
    assert Path(cfg["model"]["init"]) == runs / "mf_r1_floor_mix0.1_bal_s0" / "potential.mtp"
    assert json.loads((second / "report.json").read_text())["ranks"] == [1]
    headline = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| 6 | MF")
                and "| 1 |" in line and "/ SNAP" not in line]
    assert [line.split("|")[2].strip() for line in headline][:2] == ["MF", "MF r 1"], headline
    assert (model_of(second.name.rsplit("_s", 1)[0]), model_of("mf_rs2"), model_name("mf_r12")) == ("mf_r1", "mf", "MF r 12")
    tf = yaml.safe_load((runs / "tf_r2_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0" / "config.yaml").read_text())
    assert tf["model"]["representation"] == "tt" and tf["model"]["ranks"] == [4, 2, 2]
    assert json.loads((runs / "tf_r2_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0" / "report.json").read_text())["ranks"] == [4, 2, 2]
    report = (out / "report.md").read_text()
    assert any(line.startswith("| 6 | TF r 2 |") for line in report.splitlines()), report
    cfg = apply_kind({"data": {"species": SPECIES}, "model": {"radial_basis_size": 8}, "optimizer": {}}, "rmf_r3")
    assert cfg["model"]["rank"] == 3 and cfg["optimizer"]["method"] == "rmf"
    cfg = apply_kind({"data": {"species": SPECIES}, "model": {"radial_basis_size": 8}, "optimizer": {}}, "mfra_r4")
    assert cfg["optimizer"]["method"] == "mfra" and cfg["optimizer"]["r_max"] == 4
    proc = subprocess.run([sys.executable, str(STUDY), "--kinds", "mf_x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "invalid study_kind value: 'mf_x'" in proc.stderr
    for bad in ("base_r3", "tf_r0"):
        proc = subprocess.run([sys.executable, str(STUDY), "--kinds", bad], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and f"invalid study_kind value: '{bad}'" in proc.stderr


def test_an_unfinished_run_is_reported_at_the_iterate_its_rule_keeps(tmp_path):
    """Under converge_on both the kept iterate is the lowest rmse score, not the lowest loss: an
    unfinished run's row shows what its best_validation.mtp holds."""
    sys.path.insert(0, str(STUDY.parent))
    from study_report import read_run

    run = tmp_path / "runs" / "l6" / "mf_both_s0"
    run.mkdir(parents=True)
    checks = [(20, 5.0, 1.0, 6.0, 90.0), (40, 4.0, 2.0, 5.0, 80.0), (60, 4.5, 0.5, 7.0, 70.0)]   # it., score, loss, E, F
    lines = [{"iteration": it, "loss": 1.0, "seconds": it, "validation_rmse_score": score, "validation_loss": loss,
              "validation_energy_rmse_meV_per_atom": e, "validation_force_rmse_meV_per_A": f}
             for it, score, loss, e, f in checks]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    row = read_run(run)
    assert not row["finished"] and row["kept"] == 40 and (row["energy"], row["forces"]) == (5.0, 80.0)
    for r in lines:   # the rule on the loss alone keeps the lowest loss
        del r["validation_rmse_score"]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    row = read_run(run)
    assert row["kept"] == 60 and (row["energy"], row["forces"]) == (7.0, 70.0)


@pytest.mark.parametrize("level", [12, 14, 16, 18])
def test_compressed_ranks_halve_the_radial_parameters_of_real_potentials(level):
    """The ranks the study trains at each level: the MF and TF radial parameter counts of real
    potentials are the nearest to half of the base's (no neighbouring rank is nearer); at level 16
    they are the ranks the shipped potentials have."""
    sys.path.insert(0, str(STUDY.parent))
    from model_kinds import LEVEL16_RANKS, compressed_ranks

    from mtp_lowrank import Potential

    ranks = compressed_ranks(len(SPECIES), level)
    base = Potential.from_level(level, SPECIES, 2.0, 5.0, seed=0)
    half = base.parameter_count("radial") / 2

    def off(r):
        return abs(base.to_mf(r).parameter_count("radial") - half)

    assert off(ranks["mf"]) <= min(off(ranks["mf"] - 1), off(ranks["mf"] + 1))
    r1, r2, r3 = ranks["tf"]

    def off_tt(r):
        return abs(base.to_tt([r1, r, r3]).parameter_count("radial") - half)

    assert off_tt(r2) <= min(off_tt(r2 - 1), off_tt(r2 + 1))
    if level == 16:
        assert ranks == LEVEL16_RANKS


def test_the_report_counts_rmf_by_its_manifold_dimension():
    """R-MF trains on the manifold of rank-r matrices, r (m + n - r) free parameters, though its
    potential stores the r (m + n) numbers of two factors: the report's column counts the former."""
    sys.path.insert(0, str(STUDY.parent))
    from study_report import trained_radial_parameters

    from mtp_lowrank import Potential

    mf = Potential.from_level(16, SPECIES, 2.0, 5.0, seed=0).to_mf(6)
    (m, r), (n, _) = (f.shape for f in mf.factors)
    stored = mf.parameter_count("radial")
    assert trained_radial_parameters("rmf_floor_mix0.1_bal_s0", stored, mf.ranks) == r * (m + n - r) == 252
    assert trained_radial_parameters("mf_floor_mix0.1_bal_s0", stored, mf.ranks) == r * (m + n) == 288


def test_a_run_stopped_before_its_first_checkpoint_starts_again_on_continue(tmp_path):
    """Killed in its first iterations (no checkpoint yet), a run leaves config.yaml and a few
    metrics: --continue starts it again there instead of refusing the non-empty directory."""
    data = toy_data(tmp_path / "toy.xyz")
    out = tmp_path / "study"
    stopped = out / "runs" / "l6" / "mf_s0"
    stopped.mkdir(parents=True)
    (stopped / "config.yaml").write_text("model: {}\n")
    (stopped / "metrics.jsonl").write_text('{"iteration": 1, "loss": 1.0}\n')
    stdout = run("--continue", "--kinds", "mf", "--levels", "6", "--max-iter", "5", "--threads", "1", "--data", data,
                 "--out", out)
    assert f"start again in {stopped}" in stdout
    records = [json.loads(l) for l in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert (stopped / "report.json").exists() and [r["iteration"] for r in records] == list(range(1, 6))


def test_ctrl_c_then_continue_resumes_the_interrupted_run(tmp_path):
    """Ctrl-C stops the study with status 130; --continue resumes the interrupted run exactly
    where it stopped (one record per iteration) and finishes it."""
    from conftest import interrupted_run

    data = toy_data(tmp_path / "toy.xyz")
    out = tmp_path / "study"
    common = ["--kinds", "base", "--levels", "6", "--threads", "1", "--data", data, "--out", out, "--converge-window", "0"]
    metrics = out / "runs" / "l6" / "base_s0" / "metrics.jsonl"
    status, _, err = interrupted_run([sys.executable, str(STUDY), *map(str, common), "--max-iter", "100000"], metrics, 30)
    assert status == 130 and "Traceback" not in err, err[-2000:]
    done = len(metrics.read_text().splitlines())
    stdout = run(*common, "--continue", "--max-iter", done + 5)
    assert f"continue in {metrics.parent}" in stdout, stdout[-2000:]
    records = [json.loads(l) for l in metrics.read_text().splitlines()]
    assert [r["iteration"] for r in records] == list(range(1, done + 6))
    assert json.loads((metrics.parent / "report.json").read_text())["message"].startswith("maximum number of iterations")


def test_ood_trajectory_scores_each_kept_check_once_and_spreads_over_the_near_best(tmp_path, monkeypatch):
    """ood_trajectory.py: one row per saved check, the kept one marked, the spread over the checks
    within 2% of the best value, and each iterate scored once (cached beside the checks)."""
    sys.path.insert(0, str(STUDY.parent))
    import ood_trajectory

    from mtp_lowrank import Potential

    run = tmp_path / "runs" / "l6" / "mf_s0"
    (run / "checks").mkdir(parents=True)
    scores = {20: 10.0, 40: 5.0, 60: 5.05}   # 40 is the best, 60 within 2% of it
    for k, it in enumerate(scores):
        Potential.from_level(6, SPECIES, 2.0, 5.0, seed=k).save(run / "checks" / f"iteration_{it:06d}.mtp")
    (run / "metrics.jsonl").write_text("".join(json.dumps(
        {"iteration": it, "validation_rmse_score": s, "validation_energy_rmse_meV_per_atom": s,
         "validation_force_rmse_meV_per_A": 80.0}) + "\n" for it, s in scores.items()))
    (run / "report.json").write_text(json.dumps({"kept_iteration": 40}))
    calls = []

    def fake(pot, oracle):
        calls.append(pot)
        return {2.2: (float(len(calls)), 100.0 * len(calls))}

    monkeypatch.setattr(ood_trajectory, "proxy_errors", fake)
    oracle = {"base": [None] * 7}
    lines = ood_trajectory.run_section(run, 20, oracle, [2.2])
    assert len(calls) == 3 and "| 40 (kept) | 5.00 | 80.0 | 2.0 | 200 |" in lines
    near = lines[lines.index(next(l for l in lines if l.startswith("The 2 checks within 2%"))):]
    assert "iterations 40, 60" in near[0] and "dE 2.0 / 2.5 / 3.0 (1.5x)" in "\n".join(near)
    assert ood_trajectory.run_section(run, 20, oracle, [2.2]) == lines and len(calls) == 3   # cached


def test_all_plans_the_pipeline_then_the_reports_recipe_runs(tmp_path):
    """--all --plan on an empty study: every run the report and the shipped potentials rest on,
    new, in the order --all trains them (the pipeline's three stages first; the MF at the rank
    scan's best rank among the recipe's runs), and nothing trained or written."""
    out = tmp_path / "study"
    lines = run("--all", "--plan", "--out", out, "--data", tmp_path / "absent.xyz").splitlines()
    states = {line.split()[4] for line in lines}
    names = [tuple(line.split()[i] for i in (0, 1, 3, 5)) for line in lines]
    assert states == {"new"} and not out.exists()
    assert names[:3] == [("l16", "base", "0", "base_s0"), ("l16", "base", "0", "base_floor_bal_warm_s0"),
                         ("l16", "base", "0", "base_floor_bal_fw0.003_cont_s0")]
    assert ("l16", "mf_r4", "0", "mf_r4_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0") in names
    assert ("l16", "tf_r5", "0", "tf_r5_floor_mix0.1_bal_s0") in names
    assert ("l16", "mfra_r4", "0", "mfra_r4_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s0") in names
    assert ("l18", "mf", "0", "mf_floor_mix0.1_bal_s0") == names[-2] and len(set(names)) == len(names) == 50


def test_shipping_takes_each_kind_at_about_half_the_base(tmp_path):
    """ship_potentials.py ships each compressed kind at ~50% of the base's radial parameters: its
    candidates are the kind's runs at any rank (not another kind's: mfra_* is not an MF), and
    near_half keeps those at 40-60% (level 16: MF r 5 and TF (4, 5, 5) ship, MF r 4 at 37.5%
    does not; R-MF r 6 by its manifold's 252); unfinished runs offer their best iterate."""
    sys.path.insert(0, str(STUDY.parent))
    from mtp_lowrank import Potential
    from ship_potentials import candidates, near_half

    for run, name in (("mf_floor_s0", "potential.mtp"), ("mf_r4_floor_s0", "potential.mtp"),
                      ("mfra_floor_s0", "potential.mtp"), ("tf_floor_s1", "best_validation.mtp"),
                      ("tf_r5_floor_s0", "potential.mtp")):
        (tmp_path / run).mkdir()
        (tmp_path / run / name).write_text("")
    assert [(d.name, p.name) for d, p in candidates(tmp_path, "mf")] == [("mf_floor_s0", "potential.mtp"),
                                                                         ("mf_r4_floor_s0", "potential.mtp")]
    assert [(d.name, p.name) for d, p in candidates(tmp_path, "tf")] == [("tf_floor_s1", "best_validation.mtp"),
                                                                         ("tf_r5_floor_s0", "potential.mtp")]
    full = Potential.from_level(16, SPECIES, min_dist=2.0, max_dist=5.0, radial_basis_size=8, seed=0)
    assert near_half("base", full)
    assert [near_half("mf", full.to_mf(r)) for r in (4, 5, 6, 7)] == [False, True, True, False]   # 37.5-66%
    assert near_half("tf", full.to_tt([4, 5, 5])) and near_half("tf", full.to_tt([4, 4, 8]))   # 46%, 53%
    assert near_half("rmf", full.to_mf(6)) and not near_half("mf", full.to_mf(8))   # 252 of 512; 75%


def test_quaternary_cells_are_equiatomic_bcc_and_scored_per_temperature(tmp_path, monkeypatch):
    """ood_quaternary_proxy.py: its random cells hold the four species in equal parts on a bcc
    lattice; errors_vs_snap gives per temperature and over all the energy RMSE, the mean
    difference (model - reference) and the force RMSE; a kept snapshot file made with other
    settings is refused, not silently reused."""
    sys.path.insert(0, str(STUDY.parent))
    import ase.io
    import ood_quaternary_proxy as q
    from ase.calculators.singlepoint import SinglePointCalculator

    from mtp_lowrank import Potential

    cell = q.random_quaternary(seed=0, repeat=2)
    assert len(cell) == 16 and sorted(cell.get_chemical_symbols()) == sorted(SPECIES * 4)
    assert cell.get_chemical_symbols() != q.random_quaternary(seed=1, repeat=2).get_chemical_symbols()
    assert q.shortest_cross(cell) == pytest.approx(q.LATTICE * np.sqrt(3) / 2)   # bcc nearest neighbours
    pot = Potential.from_level(6, SPECIES, 2.0, 5.0, seed=0)
    images = []
    for k, (t, shift) in enumerate([(300.0, 0.0), (300.0, 0.0), (2500.0, 0.002), (2500.0, -0.002)]):
        a = q.random_quaternary(seed=k, repeat=2)
        a.rattle(0.05, seed=k)
        res = pot.evaluate(a)
        forces = res["forces"] + (0.01 if t == 2500.0 else 0.0)
        a.calc = SinglePointCalculator(a, energy=res["energy"] - shift * len(a), forces=forces)   # model - ref = shift
        a.info["temperature_K"] = t
        images.append(a)
    s = q.errors_vs_snap(pot, images)
    assert s["300 K"] == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    assert s["2500 K"] == pytest.approx((2.0, 0.0, 10.0), abs=1e-6)
    assert s["all"] == pytest.approx((np.sqrt(2.0), 0.0, np.sqrt(50.0)), abs=1e-6)
    monkeypatch.setattr(q, "OUT", tmp_path)
    ase.io.write(tmp_path / "snapshots.xyz.gz", images)
    assert len(q.make_snapshots([300.0, 2500.0], cells=1, snapshots=2)) == 4
    with pytest.raises(SystemExit, match="delete it to make them again"):
        q.make_snapshots([300.0, 1500.0], cells=1, snapshots=2)


@pytest.mark.skipif(not (ROOT.parent / "shared" / "data" / "nbmotaw").exists(), reason="../shared/data/nbmotaw absent")
def test_quaternary_snapshots_keep_each_atoms_species_through_snap_dynamics():
    """snap_md maps LAMMPS types back to the right species (the dump holds types, not symbols):
    each atom of the first snapshot has its species in the start cell and sits near its site."""
    sys.path.insert(0, str(STUDY.parent))
    import ood_quaternary_proxy as q

    start = q.random_quaternary(seed=0, repeat=2)
    frames = q.snap_md(start, 300.0, seed=0, snapshots=2, every=5, equilibrate=10)
    assert len(frames) == 2 and all(f.info["temperature_K"] == 300.0 for f in frames)
    assert frames[0].get_chemical_symbols() == start.get_chemical_symbols()
    d = frames[0].positions - start.positions
    d -= np.round(d / q.LATTICE / 2) * q.LATTICE * 2   # periodic images of a 2x2x2 cubic cell
    assert np.abs(d).max() < 0.5


def test_shipping_scores_outside_the_data_by_the_worse_proxy():
    """ood_score: energy and force distance from SNAP in units of SNAP's own error on the unseen
    kind (6.6 meV/atom, 250 meV/A), on the quaternary cells and the pushed binary pair alike,
    and the worse of the two decides: a floor variant that is closer on quaternary cells but
    explodes on a pushed pair must lose (the R-MF with like-pair floors did)."""
    sys.path.insert(0, str(STUDY.parent))
    from ship_potentials import ood_score

    assert ood_score({"all": (6.6, -1.0, 125.0)}, {2.2: (3.3, 250.0)}) == pytest.approx(1.0)
    assert ood_score({"all": (3.3, 0.0, 500.0)}, {2.2: (3.3, 100.0)}) == pytest.approx(2.0)
    as_trained = ood_score({"all": (31.9, -26.5, 414.0)}, {2.2: (40.9, 747.0)})
    like_floors = ood_score({"all": (27.9, -20.0, 1062.0)}, {2.2: (489.9, 28476.0)})
    assert as_trained < like_floors


def test_report_scores_recipe_runs_outside_the_data_once_per_potential(tmp_path):
    """study_ood: each run's potential scored on both proxies against the oracle's labels,
    cached beside it and rescored only when the file changes; one table row per level and
    model over its seeds, and the plot written."""
    sys.path.insert(0, str(STUDY.parent))
    import ood_quaternary_proxy as q
    import study_ood
    from ase.calculators.singlepoint import SinglePointCalculator

    from mtp_lowrank import Potential

    def model(seed):
        pot = Potential.from_level(6, SPECIES, 2.0, 5.0, seed=seed)
        rng = np.random.default_rng(seed)
        return pot.replace(species_coeffs=rng.normal(size=4), moment_coeffs=0.05 * rng.normal(size=pot.n_basis_functions))

    teacher = model(9)
    cells = []
    for k in range(3):
        a = q.random_quaternary(seed=k, repeat=2)
        a.rattle(0.05, seed=k)
        r = teacher.evaluate(a)
        a.calc = SinglePointCalculator(a, energy=r["energy"], forces=r["forces"])
        a.info["temperature_K"] = 300.0
        cells.append(a)
    pushed = [c.copy() for c in cells]
    for k, c in enumerate(pushed):
        c.rattle(0.1, seed=10 + k)
    snap = [teacher.evaluate(c) for c in pushed]
    oracle = {"base": cells, "pushed": {2.2: pushed}, "e0_snap": np.array([c.get_potential_energy() for c in cells]),
              "snap": {2.2: (np.array([r["energy"] for r in snap]), [r["forces"] for r in snap])}}
    calls = []

    def oracles():
        calls.append(1)
        return oracle, cells

    runs = []
    for seed in (0, 1):
        d = tmp_path / "runs" / "l6" / f"mf_floor_mix0.1_bal_fw0.003_rs2_rmse_cont_s{seed}"
        d.mkdir(parents=True)
        model(seed).save(d / "potential.mtp")
        runs.append({"level": 6, "kind": d.name.rsplit("_s", 1)[0], "seed": seed, "directory": str(d), "radial": 99})
    teacher.save(Path(runs[1]["directory"]) / "potential.mtp")   # seed 1 is the oracle itself: no error
    lines = study_ood.ood_lines(runs, tmp_path, oracles)
    row = next(l for l in "\n".join(lines).splitlines() if l.startswith("| 6 |"))
    first = json.loads((Path(runs[0]["directory"]) / study_ood.CACHE).read_text())
    assert first["quaternary"][0] > 0 and first["pushed"][0] > 0
    cols = row.split(" | ")
    assert cols[1] == "MF" and cols[3] == "2"   # both seeds in one row
    q_e, _, q_f = first["quaternary"]
    p_e, p_f = first["pushed"]
    assert [c.split(" ±")[0] for c in cols[4:]] == [f"{q_e / 2:.1f}", f"{q_f / 2:.0f}", f"{p_e / 2:.1f}",
                                                   f"{p_f / 2:.0f}"]   # means with seed 1's zeros
    assert (tmp_path / "plots" / "ood_vs_radial.png").exists()
    n = len(calls)
    assert study_ood.ood_lines(runs, tmp_path, oracles) == lines and len(calls) == n   # cached: no oracle needed
    model(5).save(Path(runs[0]["directory"]) / "potential.mtp")
    study_ood.ood_lines(runs, tmp_path, oracles)
    assert len(calls) > n and json.loads((Path(runs[0]["directory"]) / study_ood.CACHE).read_text()) != first
