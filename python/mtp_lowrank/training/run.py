"""`mtp-lowrank train`: a training run from a validated configuration. Prints one line per
iteration, appends metrics to metrics.jsonl, checkpoints the best potential every N iterations
and on Ctrl-C, and writes the final potential and an error report."""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import yaml

from ..potential import Potential
from ..factorization import check_mf_rank
from .data import config_weights, load_images, select_images, shortest_distance_search, split
from .distributed import is_root, world
from .loss import Loss
from .regularization import RadialMixing
from .metrics import predictions, summarize
from .plots import learning_curve_plot, parity_plot, read_metrics
from .bfgs import BFGSState, Converged
from .convergence import WATCHED_KEYS, ValidationMonitor
from .interrupt import interrupts_deferred, sigterm_as_interrupt
from .optimize import TrainResult, fit_linear, fit_linear_to_loss, train_bfgs
from .rank_augmentation import MFRAState, train_mfra
from .riemannian import RMFState, train_rmf

__all__ = ["run_training"]


def _species_of(images):
    from ase.data import atomic_numbers

    return sorted({s for a in images for s in a.get_chemical_symbols()}, key=lambda s: atomic_numbers[s])


class RunDirectoryError(ValueError):
    pass


def check_directory(out: Path, overwrite: bool, resume: str | None) -> None:
    """A run writes into a new or empty directory (as nequip does): an existing non-empty one
    is refused unless the run resumes from it or --overwrite is given."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"output.directory {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not resume and not overwrite:
        raise RunDirectoryError(f"output.directory {out} already holds a run: choose another directory, "
                                "continue it with --resume <dir>/checkpoint.mtp, or replace it with --overwrite")


def start_directory(out: Path, cfg: dict, resume: str | None) -> None:
    """Create the run directory (after the data and model are known to be usable), removing
    what an earlier run wrote there unless resuming (so metrics.jsonl holds one run), and
    record the configuration."""
    if not resume:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / CHECKS, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


RUN_FILES = ("config.yaml", "metrics.jsonl", "checkpoint.mtp", "checkpoint_state.npz", "potential.mtp", "active_set.npz",
             "best_validation.mtp",
             "potential_mlip.mtp", "report.json", "parity_train.png", "parity_validation.png",
             "learning_curve.png", "ensemble_report.json")
CHECKS = "checks"   # output.keep_checks: the iterate of every validation check, checks/iteration_<N>.mtp


def load_data(d: dict, log):
    """(train, validation, species) as the data section says."""
    species = d["species"]
    train = load_images(d["train"], species=species)
    if d["select"] is not None or d["max_configs"] is not None:
        n_all = len(train)
        train = select_images(train, d["select"], d["max_configs"], d["seed"])
        log(f"data.select / data.max_configs: {len(train)} of {n_all} configurations")
    if d["validation"]:
        val = load_images(d["validation"], species=species)
    else:
        train, val = split(train, d["validation_fraction"], d["seed"])
    if species is None and any("X" in a.get_chemical_symbols() for a in train + val):
        raise ValueError("MLIP .cfg data stores type numbers, not elements: give data.species "
                         "(the chemical symbols of types 0, 1, ...)")
    species = species or _species_of(train + val)
    log(f"{len(train)} training / {len(val)} validation configurations; species {' '.join(species)}")
    return train, val, species


def isolated_energies(d: dict, species, log):
    """species_coeffs fixed at data.isolated_atom_energies (one per species), or None."""
    if d["isolated_atom_energies"] is None:
        return None
    missing = [s for s in species if s not in d["isolated_atom_energies"]]
    if missing:
        raise ValueError(f"data.isolated_atom_energies has no energy for {', '.join(missing)}")
    iso = [float(d["isolated_atom_energies"][s]) for s in species]
    log("species_coeffs fixed at the isolated-atom energies: "
        + ", ".join(f"{s} {e:.6g} eV" for s, e in zip(species, iso)))
    return iso


def check_model_matches(pot: Potential, m: dict, method: str, source: str) -> None:
    """Refuse to resume from a checkpoint whose model is not the one the model section asks for."""
    want = {"level": m["level"], "min_dist": float(m["min_dist"]), "max_dist": float(m["max_dist"]),
            "radial_basis_size": m["radial_basis_size"],
            "representation": "mf" if method == "mfra" else m["representation"]}
    have = {"level": pot.level, "min_dist": pot.min_dist, "max_dist": pot.max_dist,
            "radial_basis_size": pot.radial_basis_size, "representation": pot.format}
    if want["representation"] == "mf" and method != "mfra":
        want["rank"], have["rank"] = m["rank"], pot.ranks[0] if pot.ranks else None
    if want["representation"] == "tt":
        want["ranks"], have["ranks"] = list(m["ranks"]), list(pot.ranks)
    diff = [f"model.{k}: {want[k]} in the configuration, {have[k]} in the checkpoint" for k in want if want[k] != have[k]]
    if diff:
        raise ValueError(f"--resume {source}: the checkpoint is not the model this configuration describes ("
                         + "; ".join(diff) + "): resume with the configuration the run was started with")


def load_state(state_file: Path, method: str, pot: Potential):
    """The optimizer state saved beside a checkpoint, checked against method and parameters."""
    try:
        with np.load(state_file) as z:
            saved_by = str(z["method"]) if "method" in z else "bfgs"
        state = {"bfgs": BFGSState, "rmf": RMFState, "mfra": MFRAState}[saved_by].load(state_file)
    except Exception as e:  # a truncated or foreign file: zipfile, pickle, key or shape errors
        raise ValueError(f"{state_file}: not a readable optimizer state ({type(e).__name__}: {e}); "
                         "delete it to resume from the checkpoint's parameters only") from None
    if saved_by != method:
        raise ValueError(f"{state_file} was written by optimizer.method {saved_by}, "
                         f"not {method}: resume with the same method")
    x = state.x if saved_by == "bfgs" else state.stage.x if saved_by == "mfra" else None
    if x is not None and x.shape != pot.parameter_vector().shape:
        raise ValueError(f"{state_file} does not match the parameters of the checkpoint beside it")
    return state


def resume_point(resume: str, cfg: dict, species, log):
    """(potential, optimizer state or None) to continue a run from its checkpoint."""
    method = cfg["optimizer"]["method"]
    pot = Potential.load(resume, species=species)
    check_model_matches(pot, cfg["model"], method, resume)
    state_file = Path(resume).with_name(Path(resume).stem + "_state.npz")
    if not state_file.exists():
        log(f"resuming from {resume} (parameters only: the optimizer's curvature estimate restarts)")
        return pot, None
    state = load_state(state_file, method, pot)
    done = state.iteration if method != "mfra" else state.used + state.stage.iteration
    log(f"resuming exactly from {resume} and {state_file.name} (iteration {done})")
    return pot, state


def initial_potential(cfg: dict, species, iso, train, comm, shortest=None) -> Potential:
    """A new model as the model section says, linear parameters fitted as the optimizer says.
    `shortest(cutoff)`: the training data's shortest pair distances (default: computed here)."""
    m, opt, lo = cfg["model"], cfg["optimizer"], cfg["loss"]
    if m["init"]:
        pot = Potential.load(m["init"], species=species)
    else:
        pot = Potential.from_level(m["level"], species, min_dist=m["min_dist"], max_dist=m["max_dist"],
                                   radial_basis_size=m["radial_basis_size"], seed=m["seed"])
    if m["radial_floor"] is not None:
        pot = pot.with_radial_floor(radial_floors(m, pot, train, species, shortest))
    if m["core"]:
        n = pot.n_species
        outer = pot.radial_floor if pot.radial_floor is not None else np.full((n, n), pot.min_dist)
        pot = pot.with_repulsive_core(m["core_outer_fraction"] * outer, width=m["core_width"])
    if opt["method"] == "mfra":
        check_mf_rank(opt["r_max"], pot.n_species, pot.radial_funcs_count, pot.radial_basis_size)
        if m["init"] and pot.ranks != (opt["delta_r"],):  # warm start: the init's best rank-delta_r part
            pot = pot.to_mf(opt["delta_r"])
    elif m["representation"] == "mf":
        pot = pot.to_mf(m["rank"])
    elif m["representation"] == "tt":
        pot = pot.to_tt(m["ranks"])
    if iso is not None:
        pot = pot.replace(species_coeffs=iso)
    # A warm start keeps its trained linear parameters: refitting them to energies alone would undo
    # its force fit (1.9 eV/A force errors on FLiNaK from a 77 meV/A potential); linear_fit 'loss'
    # still refits them to the whole loss in run_training.
    if opt["linear_init"] and not m["init"]:
        pot = fit_linear(pot, train, energy_per_atom=lo["energy_per_atom"], comm=comm, fixed_species_coeffs=iso)
    return pot


def radial_floors(m: dict, pot: Potential, train, species, shortest=None) -> np.ndarray:
    """model.radial_floor: a given N_T x N_T table, or 'data': each pair's shortest distance in
    the training data minus the margin; a pair the data never brings within the cutoff takes
    the mean of its two species' own floors; no floor below min_dist. 'mixed': like 'data' for
    like pairs; a cross pair's floor is the larger of its two species' floors, if that is below
    its own (loss.radial_mixing shapes its radial functions in between). `shortest`: train's
    shortest_distance_search, if the caller has one (else a new search)."""
    if m["radial_floor"] not in ("data", "mixed"):
        return np.asarray(m["radial_floor"], dtype=float)
    data = (shortest or shortest_distance_search(train, species))(pot.max_dist)
    floor = data - m["radial_floor_margin"]
    own = np.diag(floor).copy()
    unseen = ~np.isfinite(floor)
    floor[unseen] = 0.5 * (own[:, None] + own[None, :])[unseen]
    if m["radial_floor"] == "mixed":
        floor = np.minimum(floor, np.maximum(own[:, None], own[None, :]))
    floor[~np.isfinite(floor)] = pot.min_dist
    return np.clip(floor, pot.min_dist, None)


class MetricsLog:
    """The per-iteration callback: one printed line and one metrics.jsonl record per iteration
    (training RMSEs from the loss evaluation of the accepted iterate; every `every` iterations
    the validation RMSEs and the value that decides convergence (`monitor`: their rmse_score or
    the validation loss)). Convergence during the validation, or a signal while the record is
    written, still writes it whole (the optimizers already hold signals back while they call it:
    this covers other callers)."""

    def __init__(self, path: Path | None, loss: Loss, val, every: int, log, rank_of, append: bool,
                 monitor: ValidationMonitor | None = None, ready=lambda rec: True, as_model=lambda p: p,
                 keep: Path | None = None):
        """keep: a directory for the iterate of every validation check (output.keep_checks)."""
        self.file = path.open("a" if append else "w") if path is not None else None
        self.loss, self.val, self.every, self.log, self.rank_of = loss, val, every, log, rank_of
        self.monitor, self.ready, self.as_model, self.keep = monitor, ready, as_model, keep
        self.t_start = time.perf_counter()

    def __call__(self, rec):
        rank = rec.get("rank", self.rank_of())
        rec = {k: v for k, v in rec.items() if isinstance(v, (int, float, str, list))}
        line = f"iter {rec['iteration']:6d}  loss {rec['loss']:.6e}  |grad| {rec.get('grad_norm', float('nan')):.3e}"
        try:   # the record is written whatever interrupts it
            train_err, current = self.loss.recent(rec["loss"])
            if train_err:
                rec.update({"train_" + k: v for k, v in train_err.items()})
                line += (f"  train E {train_err['energy_rmse_meV_per_atom']:8.2f} meV/atom"
                         f"  F {train_err['force_rmse_meV_per_A']:7.1f} meV/A")
            due = bool(self.val) and self.every and current is not None and rec["iteration"] % self.every == 0
            on_rmse = self.monitor is not None and self.monitor.score_of is not None
            score = None   # with a monitor on the RMSEs every MPI rank computes them, so all decide alike
            if due and (self.file is not None or on_rmse):
                v = summarize(predictions(current, self.val), by_group=False)["all"]
                e, f = v["energy_meV_per_atom"]["rmse"], v["forces_meV_per_A"]["rmse"]
                rec["validation_energy_rmse_meV_per_atom"], rec["validation_force_rmse_meV_per_A"] = e, f
                line += f"  val E {e:8.2f}  F {f:7.1f}"
                score = self.monitor.score_of(v) if on_rmse else None
            checks = due and self.monitor is not None and self.ready(rec)
            # the iterate as the run's model kind, converted once and only when something takes it
            model = self.as_model(current) if checks or (due and self.keep is not None) else None
            if model is not None and self.keep is not None:
                self.keep.mkdir(exist_ok=True)
                model.save(self.keep / f"iteration_{rec['iteration']:06d}.mtp", mlip_compatible=False)
            if checks:
                self.monitor.check(model, rec["iteration"], value=score)
                rec.update(self.monitor.latest())
        except Converged:
            rec.update(self.monitor.latest())
            rec["converged"] = True
            raise
        except KeyboardInterrupt:
            rec["interrupted"] = True
            raise
        finally:   # a signal here would lose the record: it takes effect after the write
            with interrupts_deferred():
                if self.file is not None:
                    self.file.write(json.dumps(rec) + "\n")
                    self.file.flush()
                self.log(f"{line}  rank {rank}  {time.perf_counter() - self.t_start:8.1f} s")

    def close(self):
        if self.file is not None:
            self.file.close()


def training_loss(lo: dict, pot: Potential, images, threads: int, comm=None, freeze_species: bool = False,
                  where: str = "training data", penalty: bool = True, shortest=None) -> Loss:
    """The loss the loss section `lo` defines over `images`, for potentials shaped like `pot`:
    run_training's training loss, and with penalty=False (no radial smoothness or mixing term)
    its validation loss; scripts reuse it, e.g. on a subset of the data. The mixing rule acts
    between pot's floors and the shortest distances of `images` (on every MPI rank: all of them;
    `shortest`: their shortest_distance_search, if the caller has one)."""
    penalties = []
    if penalty and lo["radial_mixing"]:
        data_floor = (shortest or shortest_distance_search(images, pot.species))(pot.max_dist)
        penalties.append(RadialMixing.for_potential(lo["radial_mixing"], pot, data_floor))
    return Loss(pot, images, energy_weight=lo["energy_weight"], force_weight=lo["force_weight"],
                stress_weight=lo["stress_weight"], energy_per_atom=lo["energy_per_atom"], stress=lo["stress"],
                n_threads=threads, comm=comm, freeze_species=freeze_species,
                radial_smoothness=lo["radial_smoothness"] if penalty else 0.0, penalties=penalties,
                config_weights=config_weights(images, lo["config_weight_key"], lo["group_weights"], where))


def validation_monitor(pot: Potential, val, cfg: dict, comm, threads: int, out: Path, resume: str | None,
                       state) -> ValidationMonitor | None:
    """The convergence rule on optimizer.converge_on's validation value (None without validation
    data or with optimizer.converge_window 0). On resume, the checks up to the checkpoint come back from
    metrics.jsonl (the resumed run retakes the same iterates after it)."""
    opt, lo = cfg["optimizer"], cfg["loss"]
    if not val or not opt["converge_window"] or not cfg["output"]["validation_every"]:
        return None
    def save_best(p):  # resume needs it
        if is_root(comm):
            p.save(out / "best_validation.mtp", mlip_compatible=False)

    rule = (opt["converge_window"], opt["converge_rel_improvement"])

    def on_loss(on_best=None):
        vloss = training_loss(lo, pot, val, threads, comm, where="validation data", penalty=False)
        return ValidationMonitor.on_loss(vloss, *rule, on_best=on_best)

    if opt["converge_on"] == "loss":
        monitor = on_loss(on_best=save_best)
    else:
        monitor = ValidationMonitor.on_rmse(val, *rule, on_best=save_best, stress=lo["stress_weight"] > 0)
        if opt["converge_on"] == "both":   # stops only when the loss is flat too
            monitor.guard = on_loss()
    if resume and state is not None and (out / "metrics.jsonl").exists():
        done = state.iteration if not hasattr(state, "used") else state.used + state.stage.iteration
        restarts = set(getattr(state, "restarts", []))
        records = read_metrics(out / "metrics.jsonl")
        check_same_rule(records, opt["converge_on"], out / "metrics.jsonl")
        for rec in records:
            if monitor.key in rec and rec["iteration"] <= done:
                monitor.restore(rec)
                if rec["iteration"] in restarts:   # the rule fired here and BFGS restarted
                    monitor.restart(rec["iteration"])
        best_file = out / "best_validation.mtp"
        if monitor.values and best_file.exists():
            k = int(np.argmin(monitor.values))
            monitor.best = (monitor.values[k], monitor.iterations[k], Potential.load(best_file))
    return monitor


def check_same_rule(records, converge_on: str, where: Path) -> None:
    """Refuse to resume a run whose convergence rule watched something else: its checks and its
    best_validation.mtp were judged by that, and mixing the two would keep the wrong iterate."""
    keys = set().union(*WATCHED_KEYS.values())
    found = {k for rec in records for k in keys if k in rec}
    if found and found != set(WATCHED_KEYS[converge_on]):
        was = next((mode for mode, watched in WATCHED_KEYS.items() if set(watched) == found), "?")
        raise ValueError(f"{where}: this run's convergence rule watched the "
                         f"{' and the '.join(sorted(k.replace('_', ' ') for k in found))} (optimizer.converge_on: "
                         f"{was}); resume it with --set optimizer.converge_on={was}")


def optimize(pot: Potential, loss: Loss, state, cfg: dict, callback, out: Path, root: bool,
             monitor: ValidationMonitor | None = None, log=print) -> TrainResult:
    """Run optimizer.method from `pot` (or from a saved `state`), checkpointing into `out`. With
    optimizer.restarts, BFGS restarts when the monitor's rule fires (restart_due)."""
    opt, out_cfg = cfg["optimizer"], cfg["output"]

    def on_checkpoint(p):
        if root:
            p.save(out / "checkpoint.mtp", mlip_compatible=False)

    def on_state(st):  # with every checkpoint: what --resume needs to continue exactly
        if root:
            st.save(out / "checkpoint_state.npz")

    common = dict(max_iter=opt["max_iter"], gtol=opt["gtol"], rel_decrease=opt["rel_decrease"],
                  patience=opt["patience"], callback=callback, checkpoint_every=out_cfg["checkpoint_every"])
    if opt["method"] == "bfgs":  # checkpoints carry the whole state: --resume continues exactly
        def restart(st, why):
            st.restart()
            monitor.restart(st.iteration)
            on_state(st)   # a resume continues after the restart, as the uninterrupted run does
            log(f"{why}: BFGS restart {len(st.restarts)} of {opt['restarts']} at iteration {st.iteration} "
                "(curvature estimate reset)")

        # resumed where the rule fired (a converged run continued with more restarts): restart there
        if state is not None and monitor is not None and restart_due(
                state, monitor.holds() and monitor.iterations[-1] == state.iteration, opt, monitor):
            restart(state, "the validation rule held at the resume point")
        result = train_bfgs(pot, loss, state=state, on_checkpoint=on_checkpoint, on_state=on_state, **common)
        while restart_due(result.state, result.message.startswith("converged"), opt, monitor):
            restart(result.state, result.message)
            result = train_bfgs(pot, loss, state=result.state, on_checkpoint=on_checkpoint, on_state=on_state,
                                **common)
        return result
    if opt["method"] == "rmf":
        return train_rmf(pot, loss.for_template(pot), mu=opt["mu"], state=state, on_state=on_state,
                         on_checkpoint=on_checkpoint, **common)
    return train_mfra(pot, loss, r_max=opt["r_max"], delta_r=opt["delta_r"], s=opt["s"], seed=cfg["model"]["seed"],
                      state=state, on_state=on_state, on_checkpoint=on_checkpoint, **common)


def restart_due(state: BFGSState, fired: bool, opt: dict, monitor: ValidationMonitor | None) -> bool:
    """The validation rule fired (`fired`) and restarts and iterations are left. A
    rule firing is often BFGS stalling on a stale curvature estimate rather than convergence: on
    Nb-Mo-Ta-W (level 16, MF) a restart there lowered the validation loss by 3% in 200 iterations."""
    return (monitor is not None and fired and len(state.restarts) < opt["restarts"]
            and state.iteration < opt["max_iter"])


def write_active_set(pot: Potential, train, out: Path, log) -> None:
    """active_set.npz: the MaxVol active set of the training data for this potential
    (mtp_lowrank.active; `mtp-lowrank grade`, MTPCalculator(active_set=...)): of whole
    configurations when there are at least as many as independent parameter directions (MLIP's
    default), else of neighbourhoods (as MLIP does for small sets), unless their rows would take
    more than 2 GB."""
    from ..active import ActiveSet, ParameterCoordinates

    dimension = ParameterCoordinates(pot).dimension
    n_atoms = sum(len(a) for a in train)
    if len(train) >= dimension:
        mode = "configuration"
    elif n_atoms >= dimension and n_atoms * dimension * 8 <= 2e9:
        mode = "neighbourhood"
    else:
        log(f"no active set: {len(train)} training configurations ({n_atoms} atoms) for {dimension} independent "
            "parameter directions")
        return
    try:
        active = ActiveSet.fit(pot, train, mode=mode)
    except (ValueError, np.linalg.LinAlgError, MemoryError) as e:
        log(f"no active set: {e}")
        return
    active.save(out / "active_set.npz")
    log(f"active_set.npz: {mode} mode, {len(active.sources)} rows of {len(train)} training configurations (MaxVol)")


def write_report(result: TrainResult, train, val, out: Path, plots: bool, seconds: float, root: bool, log,
                 active_set: bool = True) -> dict:
    """potential.mtp (and potential_mlip.mtp for full models), active_set.npz, report.json,
    plots; returns the report. An interrupted run writes the potentials only: report.json marks a
    finished run."""
    best, finished = result.potential, result.message != "interrupted"
    if root:
        best.save(out / "checkpoint.mtp", mlip_compatible=False)
        best.save(out / "potential.mtp", mlip_compatible=False)
        if best.format == "full":  # MLIP has no radial floors or core: identical above them, a polynomial below
            best.with_radial_floor([]).with_repulsive_core(None).save(out / "potential_mlip.mtp", mlip_compatible=True)
            if best.radial_floor is not None or best.repulsive_core is not None:
                log("potential_mlip.mtp is the potential without its radial floors and repulsive core (MLIP has "
                    "neither): the same within the training data's pair distances, extrapolated as a polynomial below them")
    if root and active_set and finished:   # after the potential: it cannot lose it
        write_active_set(best, train, out, log)
    # after Ctrl-C only the validation split is scored: the training split takes seconds to minutes
    pred = {"train": predictions(best, train) if finished else None,
            "validation": predictions(best, val) if val else None}
    report = {"message": result.message, "iterations": result.iterations, "loss": result.loss,
              "kept_iteration": result.kept_iteration,   # the iterate the validation rule kept (None: no rule)
              "seconds": seconds,   # this run's wall time; optimizer_seconds: cumulative over resumes
              "optimizer_seconds": float(result.history[-1].get("seconds", seconds)) if result.history else seconds,
              "format": best.format, "ranks": list(best.ranks),
              "radial_parameters": best.parameter_count(),
              **{name: summarize(p) if p is not None else None for name, p in pred.items()}}
    # report.json means finished (studies skip such runs); an interrupted run continues with --resume
    if root and finished:
        (out / "report.json").write_text(json.dumps(report, indent=1))
        if plots:
            for name, p in pred.items():
                if p is not None:
                    parity_plot(p, out / f"parity_{name}.png", title=f"{name} ({best.format}, {len(p['groups'])} configurations)")
            records = read_metrics(out / "metrics.jsonl")
            if records:
                learning_curve_plot(records, out / "learning_curve.png", title=f"{best.format} {list(best.ranks)}")
    for name in ("train", "validation"):
        if report[name]:
            e = report[name]["all"]
            log(f"{name:10} E rmse {e['energy_meV_per_atom']['rmse']:.2f} meV/atom   "
                f"F rmse {e['forces_meV_per_A']['rmse']:.1f} meV/A   S rmse {e['stress_GPa']['rmse']:.3f} GPa")
    if not finished:
        log(f"interrupted: the best iterate so far is in {out / 'potential.mtp'}; continue with "
            f"--resume {out / 'checkpoint.mtp'} (report.json is written when the run finishes)")
    else:
        log(f"{result.message}; wrote {out / 'potential.mtp'} and {out / 'report.json'}")
    return report


def run_training(cfg: dict, resume: str | None = None, log=print, comm="auto", overwrite: bool = False) -> dict:
    """Under `mpirun -np K` (comm="auto" finds it) every rank reads the data, takes a share of
    the training configurations, and runs the same optimizer steps on the summed loss and
    gradient; rank 0 alone prints and writes files. model.ensemble > 1 trains that many models
    (see run_ensemble). The output directory must be new or empty unless resuming or
    `overwrite`. The report's message is "interrupted" after Ctrl-C."""
    comm = world() if comm == "auto" else comm
    if cfg["model"]["ensemble"] > 1:
        if resume:
            raise ValueError("--resume continues one run: resume an ensemble member from its own directory "
                             "with model.ensemble=1 and model.seed set to the member's seed")
        return run_ensemble(cfg, log=log, comm=comm, overwrite=overwrite)
    lo, opt, out_cfg = cfg["loss"], cfg["optimizer"], cfg["output"]
    root = is_root(comm)
    if not root:
        def log(*args, **kwargs):
            pass
    threads = opt["threads"]
    if comm is not None and threads == 0:  # one node assumed: share its cores among the ranks
        threads = max(1, (os.cpu_count() or 1) // comm.Get_size())
    out = Path(out_cfg["directory"])
    check_directory(out, overwrite, resume)
    train, val, species = load_data(cfg["data"], log)
    iso = isolated_energies(cfg["data"], species, log)
    # the training data's shortest pair distances, searched once for the floors and the mixing rule
    shortest = shortest_distance_search(train, species)
    if resume:
        pot, state = resume_point(resume, cfg, species, log)
    else:
        pot, state = initial_potential(cfg, species, iso, train, comm, shortest), None
    loss = training_loss(lo, pot, train, threads, comm, freeze_species=iso is not None, shortest=shortest)
    if not resume and opt["linear_init"] and opt["linear_fit"] == "loss":
        t0 = time.perf_counter()
        before = loss.evaluate(pot, gradient=False)["loss"]
        pot = fit_linear_to_loss(pot, loss)
        log(f"linear parameters fitted to the whole loss: {before:.6e} -> "
            f"{loss.evaluate(pot, gradient=False)['loss']:.6e} ({time.perf_counter() - t0:.1f} s)")
    if root:
        start_directory(out, cfg, resume)
    if comm is not None:
        log(f"data parallel over {comm.Get_size()} MPI ranks, {threads} thread(s) each")
    monitor = validation_monitor(pot, val, cfg, comm, threads, out, resume, state)  # convergence
    metrics = MetricsLog(out / "metrics.jsonl" if root else None, loss, val, out_cfg["validation_every"], log,
                         lambda: pot.ranks[0] if pot.ranks else "-", append=bool(resume), monitor=monitor,
                         ready=(lambda rec: rec.get("rank", 0) >= opt["r_max"]) if opt["method"] == "mfra" else (lambda rec: True),
                         as_model=(lambda p: p.to_mf(pot.ranks[0])) if opt["method"] == "rmf" else (lambda p: p),
                         keep=out / CHECKS if root and out_cfg["keep_checks"] else None)
    try:
        with sigterm_as_interrupt():   # a batch system's time limit stops it as Ctrl-C does
            result = optimize(pot, loss, state, cfg, metrics, out, root, monitor, log)
    finally:
        metrics.close()
    if monitor is not None and monitor.best is not None:
        log(f"{result.message}; the result is the iterate with the lowest {monitor.key.replace('_', ' ')} "
            f"(iteration {monitor.best[1]}, {monitor.best[0]:.6e})")
        result = TrainResult(monitor.best[2], result.loss, result.iterations, result.message, result.history,
                             result.state, kept_iteration=monitor.best[1])
    return write_report(result, train, val, out, out_cfg["plots"], time.perf_counter() - metrics.t_start, root, log,
                        out_cfg["active_set"])


def _mean_std(values):
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}


def ensemble_summary(reports: list[dict]) -> dict:
    """Mean and sample standard deviation (ddof=1) over ensemble members of every RMSE and MAE
    in their reports (train and validation, overall), of the final loss and of the time."""
    out = {"members": len(reports), "loss": _mean_std([r["loss"] for r in reports]),
           "seconds": _mean_std([r["seconds"] for r in reports])}
    for part in ("train", "validation"):
        if reports[0][part] is None:
            continue
        out[part] = {q: {stat: _mean_std([r[part]["all"][q][stat] for r in reports]) for stat in ("rmse", "mae")}
                     for q in reports[0][part]["all"]}
    return out


def run_ensemble(cfg: dict, log=print, comm=None, overwrite: bool = False) -> dict:
    """model.ensemble models that differ only in the seed of their random initialisation
    (model.seed, model.seed + 1, ...), each in its own directory seed_<seed>/ under
    output.directory, same data split; writes ensemble_report.json (mean +- std)."""
    k, seed0 = cfg["model"]["ensemble"], cfg["model"]["seed"]
    out = Path(cfg["output"]["directory"])
    reports = []
    for member in range(k):
        sub = copy.deepcopy(cfg)
        sub["model"].update(ensemble=1, seed=seed0 + member)
        sub["output"]["directory"] = str(out / f"seed_{seed0 + member}")
        log(f"ensemble member {member + 1}/{k}: seed {seed0 + member}")
        reports.append(run_training(sub, log=log, comm=comm, overwrite=overwrite))
        if reports[-1]["message"] == "interrupted":
            log(f"ensemble interrupted in member {member + 1}/{k}")
            return {"members": len(reports), "message": "interrupted"}
    summary = ensemble_summary(reports)
    if is_root(comm):
        (out / "ensemble_report.json").write_text(json.dumps(summary, indent=1))
    for part in ("train", "validation"):
        if part in summary:
            e, f = summary[part]["energy_meV_per_atom"]["rmse"], summary[part]["forces_meV_per_A"]["rmse"]
            log(f"ensemble of {k}, {part:10} E rmse {e['mean']:.2f} +- {e['std']:.2f} meV/atom   "
                f"F rmse {f['mean']:.1f} +- {f['std']:.1f} meV/A")
    return summary
