"""`mtp-lowrank` command line: one script, one verb per task."""

from __future__ import annotations

import argparse
import sys

POTENTIAL_EXTENSIONS = (".mtp", ".almtp")
SPECIES_HELP = ("chemical symbols of the potential's species in block order, for files that do not name "
                "them (MLIP files); .cfg data: the symbols of those species' type numbers")


def _load(path, species):
    from .potential import Potential

    return Potential.load(path, species=species)


def _info(args):
    pot = _load(args.potential, args.species)
    print(f"file:            {args.potential}")
    print(f"level:           {pot.level}")
    print(f"species:         {' '.join(pot.species) if pot.species else f'{pot.n_species} (unnamed)'}")
    print(f"MLIP types:      {' '.join(map(str, pot.mlip_types))} (type numbers of the species in .cfg files)")
    print(f"representation:  {pot.format}" + (f" ranks {list(pot.ranks)}" if pot.ranks else ""))
    print(f"cutoff:          {pot.min_dist} .. {pot.max_dist} A, {pot.radial_basis_size} Chebyshev terms, "
          f"{pot.radial_funcs_count} radial functions")
    print(f"basis functions: {pot.n_basis_functions}")
    print(f"parameters:      radial {pot.parameter_count('radial')}, moment {pot.parameter_count('moment')}, "
          f"species {pot.parameter_count('species')}, total {pot.parameter_count('all')}")
    if pot.format != "full":
        full = pot.n_species**2 * pot.radial_funcs_count * pot.radial_basis_size
        print(f"                 (full radial would be {full}: {100 * pot.parameter_count() / full:.1f}%)")
    print(f"largest ranks:   MF {pot.max_mf_rank()}, TT {list(pot.max_tt_ranks())}")
    print(f"trained:         {pot.trained} (false: an MLIP template without fitted coefficients)")


def _print_spectrum(pot):
    from .compression import truncation_table

    print(f"MF truncation of {pot.parameter_count()} radial parameters (C_hat "
          f"{pot.n_species ** 2} x {pot.radial_funcs_count * pot.radial_basis_size}):")
    print(f"  {'rank':>4} {'params':>7} {'sigma_r':>11} {'rel. error':>10}")
    for row in truncation_table(pot):
        print(f"  {row['rank']:4d} {row['radial_parameters']:7d} {row['singular_value']:11.4e} {row['relative_error']:10.3e}")


def _print_scan(pot, images, tt_ranks):
    from .compression import scan_ranks

    print(f"truncated without retraining, on {len(images)} configurations:")
    print(f"  {'rank':>10} {'params':>7} {'rel. error':>10} {'E meV/atom':>11} {'F meV/A':>9}")
    rows = scan_ranks(pot, images, tt_ranks)
    for row in rows:
        print(f"  {row['rank']:>10} {row['radial_parameters']:7d} {row['relative_error']:10.3e} "
              f"{row['energy_rmse']:11.2f} {row['force_rmse']:9.1f}")
    return rows


def _compress(args):
    from .compression import degraded, finetune, relative_error
    from .training import load_images

    pot = _load(args.potential, args.species)
    _print_spectrum(pot)
    if args.tt is not None:
        from .factorization import unfolding_singular_values

        for k, s in enumerate(list(unfolding_singular_values(pot.radial_coeffs).values())[1:]):
            print(f"  TT unfolding {k + 1} singular values: {' '.join(f'{x:.3e}' for x in s)}")
    scan_rows = None
    if args.scan:
        scan_rows = _print_scan(pot, load_images(args.scan, species=pot.cfg_species or args.species), args.tt)
    if args.mf is None and args.tt is None:
        if not args.scan:
            sys.exit("compress: give --mf RANK or --tt R1 R2 R3 (with -o), or --scan DATA to compare ranks")
        return
    if not args.output:
        sys.exit("compress: -o/--output is required with --mf or --tt")
    _check_potential_path(args.output)
    out = pot.to_mf(args.mf) if args.mf is not None else pot.to_tt(args.tt)
    err = relative_error(pot, out)
    print(f"{out.format} ranks {list(out.ranks)}: radial parameters {out.parameter_count()} of {pot.parameter_count()} "
          f"({100 * out.parameter_count() / pot.parameter_count():.1f}%), relative Frobenius error of C {err:.3e}")
    if scan_rows is not None:
        mine = next((r for r in scan_rows if r["rank"] == f"{out.format} {','.join(map(str, out.ranks))}"), None)
        full = scan_rows[0]
        if mine and degraded((full["energy_rmse"], full["force_rmse"]), (mine["energy_rmse"], mine["force_rmse"])):
            print(f"WARNING: truncation alone degrades this potential (E {full['energy_rmse']:.2f} -> "
                  f"{mine['energy_rmse']:.2f} meV/atom, F {full['force_rmse']:.1f} -> {mine['force_rmse']:.1f} meV/A)"
                  + ("" if args.finetune else ": retrain it in compressed form with --finetune DATA"))
    elif pot.trained and err > 1e-3 and not args.finetune:
        print("WARNING: a trained potential truncated this much is rarely usable as it is: measure it with "
              "--scan DATA, and retrain it in compressed form with --finetune DATA")
    if args.finetune:
        images = load_images(args.finetune, species=pot.cfg_species or args.species)
        print(f"finetuning {out.format} {list(out.ranks)} on {len(images)} configurations ({args.iterations} iterations)")
        out, report = finetune(out, images, max_iter=args.iterations)
        (e0, f0), (e1, f1) = report["before"], report["after"]
        print(f"held-out RMSE ({report['validation_configurations']} configurations): E {e0:.2f} -> {e1:.2f} meV/atom, "
              f"F {f0:.1f} -> {f1:.1f} meV/A after {report['iterations']} iterations")
    out.save(args.output)
    print(f"wrote {args.output}")


def _eval(args):
    from .training import errors, load_images

    pot = _load(args.potential, args.species)
    images = load_images(args.data, species=pot.cfg_species)
    err = errors(pot, images)
    if args.json:
        import json

        print(json.dumps(err, indent=1))
        return
    print(f"{len(images)} configurations, {sum(len(a) for a in images)} atoms")
    print(f"{'group':24} {'n':>5} {'E rmse':>9} {'E mae':>9} {'F rmse':>9} {'F mae':>9} {'S rmse':>8}")
    print(f"{'':24} {'':>5} {'meV/atom':>9} {'meV/atom':>9} {'meV/A':>9} {'meV/A':>9} {'GPa':>8}")
    rows = [("all", err["all"])] + list(err.get("groups", {}).items())
    for name, e in rows:
        en, f, st = e["energy_meV_per_atom"], e["forces_meV_per_A"], e["stress_GPa"]
        print(f"{name or '(none)':24} {en['n']:5d} {en['rmse']:9.2f} {en['mae']:9.2f} {f['rmse']:9.1f} "
              f"{f['mae']:9.1f} {st['rmse']:8.3f}")


def _check_potential_path(path):
    if not path.endswith(POTENTIAL_EXTENSIONS):
        raise ValueError(f"{path}: potentials are written as .mtp or .almtp files")


def _check_data_path(path):
    if path.endswith(".cfg"):
        return
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    try:
        fmt = filetype(path, read=False)
    except UnknownFileTypeError:
        fmt = None
    if fmt not in ioformats or not ioformats[fmt].can_write:
        raise ValueError(f"{path}: cannot tell the data format from the extension "
                         "(use .cfg, .xyz/.extxyz, or another format ASE writes)")


def _convert(args):
    src, dst = args.input, args.output
    if src.endswith(POTENTIAL_EXTENSIONS):
        _check_potential_path(dst)
        pot = _load(src, args.species)
        pot.save(dst, mlip_compatible=args.mlip)
        print(f"{dst}: {pot.format} potential, species {pot.species}, MLIP types {pot.mlip_types}")
        return
    from .cfg import write_cfg
    from .training import load_images

    _check_data_path(dst)
    images = load_images(src, species=args.species)
    if dst.endswith(".cfg"):
        write_cfg(dst, images, species=args.species)
    else:
        import ase.io

        ase.io.write(dst, images)
    print(f"{dst}: {len(images)} configurations")


def _train(args):
    from .training.config import load_config, schema_text
    from .training.run import run_training

    if args.print_config:
        print(schema_text())
        return
    if args.config is None:
        sys.exit("mtp-lowrank train: give a configuration file (mtp-lowrank train --print-config shows the schema)")
    cfg = load_config(args.config, overrides=args.set)
    report = run_training(cfg, resume=args.resume, overwrite=args.overwrite)
    if report.get("message") == "interrupted":
        sys.exit(130)


def _active_set(args, pot):
    from .active import ActiveSet
    from .training import load_images

    if args.fit:
        train = load_images(args.fit, species=pot.cfg_species)
        active = ActiveSet.fit(pot, train, mode=args.mode)
        active.save(args.active_set)
        print(f"{args.active_set}: {args.mode}-mode active set of {len(active.sources)} rows from {len(train)} configurations "
              f"({active.directions.shape[0]} parameter coordinates, {active.directions.shape[1]} independent)")
        return active
    return ActiveSet.load(args.active_set, pot)


def _grade(args):
    import numpy as np

    from .training import load_images

    pot = _load(args.potential, args.species)
    active = _active_set(args, pot)
    if args.lammps:
        active.save_for_lammps(args.lammps)
        print(f"{args.lammps}: the active set for `pair_style mtp/lowrank extrapolation {args.lammps} ...`")
    if not args.data:
        return
    images = load_images(args.data, species=pot.cfg_species)
    per_atom = [active.atom_grades(a) for a in images] if active.mode == "neighbourhood" else None
    grades = np.array([g.max() for g in per_atom]) if per_atom is not None else active.grades(images)
    print(f"{len(images)} configurations: max grade {grades.max():.3g}, median {np.median(grades):.3g}; "
          f"> 1: {np.sum(grades > 1)}, > {args.select:g}: {np.sum(grades > args.select)}, "
          f"> {args.stop:g}: {np.sum(grades > args.stop)}")
    if args.output:
        import ase.io

        for k, (a, g) in enumerate(zip(images, grades)):
            a.info["grade"] = float(g)
            if per_atom is not None:
                a.arrays["grade"] = per_atom[k]
        ase.io.write(args.output, images, format="extxyz")
        print(f"wrote {args.output} (grade in each configuration's info)")


def _select(args):
    from .training import load_images

    pot = _load(args.potential, args.species)
    active = _active_set(args, pot)
    images = load_images(args.candidates, species=pot.cfg_species)
    chosen, grades = active.select(images, threshold=args.threshold, max_count=args.max)
    print(f"{len(chosen)} of {len(images)} candidates selected (grade > {args.threshold:g}, MaxVol)")
    import ase.io

    picked = [images[k] for k in chosen]
    for a, g in zip(picked, grades):
        a.info["grade"] = float(g)
    ase.io.write(args.output, picked, format="extxyz")
    print(f"wrote {args.output}")


def _plugin_path(args):
    from .lammps_plugin import plugin_path

    print(plugin_path())


def _parser():
    ap = argparse.ArgumentParser(prog="mtp-lowrank", description=__doc__)
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("info", help="level, species, representation and parameter counts of a potential")
    p.add_argument("potential", help="potential file (.mtp, .almtp)")
    p.add_argument("--species", nargs="+", metavar="EL", help=SPECIES_HELP)
    p.set_defaults(func=_info)

    p = sub.add_parser("compress", help="factorize a potential's radial coefficients (SVD / TT-SVD), compare ranks, "
                       "retrain in compressed form",
                       description="Prints the singular values of C_hat with the relative error of each MF rank; "
                       "with --scan DATA the energy/force RMSE of every rank before retraining. A trained potential "
                       "truncated a lot is rarely usable as it is: --finetune DATA retrains it briefly.")
    p.add_argument("potential", help="potential file (.mtp, .almtp)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--mf", type=int, metavar="RANK", help="matrix factorization of rank RANK (truncated SVD of C_hat)")
    g.add_argument("--tt", type=int, nargs=3, metavar=("R1", "R2", "R3"), help="tensor train with ranks R1 R2 R3 (TT-SVD)")
    p.add_argument("-o", "--output", help="where to write the compressed potential (.mtp)")
    p.add_argument("--species", nargs="+", metavar="EL", help=SPECIES_HELP)
    p.add_argument("--scan", nargs="+", metavar="DATA", help="data files: print parameters and energy/force RMSE "
                   "for every MF rank (and the --tt ranks) without retraining")
    p.add_argument("--finetune", nargs="+", metavar="DATA", help="data files: retrain the compressed potential "
                   "(linear fit, then BFGS; 10%% held out for the printed RMSE)")
    p.add_argument("--iterations", type=int, default=100, metavar="N", help="BFGS iterations of --finetune (default 100)")
    p.set_defaults(func=_compress)

    p = sub.add_parser("train", help="train a potential from a YAML configuration",
                       description="Writes into output.directory, which must be new or empty (or use --resume / "
                       "--overwrite). Ctrl-C or SIGTERM stops after checkpointing; the exit status is then 130.")
    p.add_argument("config", nargs="?", help="YAML configuration (see --print-config)")
    p.add_argument("--set", nargs="+", metavar="SECTION.KEY=VALUE", help="override configuration values (YAML values)")
    p.add_argument("--resume", metavar="CHECKPOINT.mtp", help="continue a run from its checkpoint (exactly, when "
                   "checkpoint_state.npz is beside it); the configuration's model must match")
    p.add_argument("--overwrite", action="store_true", help="replace the run in an existing output directory")
    p.add_argument("--print-config", action="store_true", help="print every configuration key with its default and exit")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="RMSE/MAE of a potential on reference data, overall and per group")
    p.add_argument("potential", help="potential file (.mtp, .almtp)")
    p.add_argument("data", nargs="+", help=".cfg (types as the potential numbers them) or any file ASE reads")
    p.add_argument("--species", nargs="+", metavar="EL", help=SPECIES_HELP)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=_eval)

    p = sub.add_parser("convert", help="configurations .cfg <-> extxyz (any ASE format); potentials: record species "
                       "(.mtp -> .mtp)")
    p.add_argument("input", help="configurations or a potential (.mtp, .almtp)")
    p.add_argument("output", help="configurations: .cfg or a format ASE writes; potential: .mtp or .almtp")
    p.add_argument("--species", nargs="+", metavar="EL", help="symbols of .cfg types 0, 1, ...; for a potential: "
                   "its species in block order (recorded in the output file)")
    p.add_argument("--mlip", action="store_true", help="write a potential MLIP-compatibly (no species line)")
    p.set_defaults(func=_convert)

    p = sub.add_parser("grade", help="extrapolation grades of configurations (active set by MaxVol over training data)",
                       description="Grade = max |b A^-1| over the active set A (configuration rows b = dE/dtheta in "
                       "gauge-free coordinates, so MF/TT potentials work): <= 1 interpolation, > 2 worth labelling, "
                       "> 10 unreliable.")
    p.add_argument("potential", help="potential file (.mtp, .almtp)")
    p.add_argument("data", nargs="*", help="configurations to grade")
    p.add_argument("--active-set", required=True, metavar="A.npz", help="active-set file (written with --fit)")
    p.add_argument("--fit", nargs="+", metavar="TRAIN", help="training data: compute the active set and write it")
    p.add_argument("--mode", default="configuration", choices=("configuration", "neighbourhood"),
                   help="with --fit: rows of whole configurations (MLIP's default) or of atoms' neighbourhoods "
                   "(per-atom grades)")
    p.add_argument("-o", "--output", help="write the configurations with info['grade'] (extended XYZ)")
    p.add_argument("--lammps", metavar="FILE", help="also write the active set for LAMMPS (pair_style mtp/lowrank "
                   "extrapolation FILE ...; neighbourhood mode gives per-atom grades there)")
    p.add_argument("--select", type=float, default=2.0, help="threshold counted as 'select' (default 2)")
    p.add_argument("--stop", type=float, default=10.0, help="threshold counted as 'break' (default 10)")
    p.add_argument("--species", nargs="+", metavar="EL", help=SPECIES_HELP)
    p.set_defaults(func=_grade)

    p = sub.add_parser("select", help="the candidates worth labelling: MaxVol over the candidates above a grade")
    p.add_argument("potential", help="potential file (.mtp, .almtp)")
    p.add_argument("candidates", nargs="+", help="candidate configurations")
    p.add_argument("--active-set", required=True, metavar="A.npz", help="active-set file (or write one with --fit)")
    p.add_argument("--fit", nargs="+", metavar="TRAIN", help="training data: compute the active set first")
    p.add_argument("--threshold", type=float, default=2.0, help="only candidates above this grade (default 2)")
    p.add_argument("--max", type=int, help="at most this many, highest grades first")
    p.add_argument("-o", "--output", required=True, help="selected configurations (extended XYZ, with info['grade'])")
    p.add_argument("--species", nargs="+", metavar="EL", help=SPECIES_HELP)
    p.set_defaults(func=_select)

    p = sub.add_parser("lammps-plugin-path", help="print the path for LAMMPS' `plugin load`")
    p.set_defaults(func=_plugin_path)
    return ap


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        print(f"mtp-lowrank {args.verb}: interrupted", file=sys.stderr)
        sys.exit(130)
    except (ValueError, OSError) as e:
        sys.exit(f"mtp-lowrank {args.verb}: {e}")


if __name__ == "__main__":
    main()
