"""`mtp-lowrank` command line: one script, one verb per task."""

from __future__ import annotations

import argparse
import sys


def _info(args):
    from .potential import Potential

    pot = Potential.load(args.potential, species=args.species)
    print(f"file:            {args.potential}")
    print(f"level:           {pot.level}")
    print(f"species:         {' '.join(pot.species) if pot.species else f'{pot.n_species} (unnamed)'}")
    print(f"representation:  {pot.format}" + (f" ranks {list(pot.ranks)}" if pot.ranks else ""))
    print(f"cutoff:          {pot.min_dist} .. {pot.max_dist} A, {pot.radial_basis_size} Chebyshev terms, "
          f"{pot.radial_funcs_count} radial functions")
    print(f"basis functions: {pot.n_basis_functions}")
    print(f"parameters:      radial {pot.parameter_count('radial')}, moment {pot.parameter_count('moment')}, "
          f"species {pot.parameter_count('species')}, total {pot.parameter_count('all')}")
    if pot.format != "full":
        full = pot.n_species**2 * pot.radial_funcs_count * pot.radial_basis_size
        print(f"                 (full radial would be {full}: {100 * pot.parameter_count() / full:.1f}%)")
    print(f"trained:         {pot.trained}")


def _compress(args):
    from .potential import Potential

    pot = Potential.load(args.potential, species=args.species)
    if (args.mf is None) == (args.tt is None):
        sys.exit("compress: give exactly one of --mf RANK or --tt R1 R2 R3")
    out = pot.to_mf(args.mf) if args.mf is not None else pot.to_tt(args.tt)
    out.save(args.output)
    print(f"{args.output}: {out.format} ranks {list(out.ranks)}, radial parameters "
          f"{out.parameter_count()} (from {pot.parameter_count()})")


def _eval(args):
    from .potential import Potential
    from .training import errors, load_images

    pot = Potential.load(args.potential, species=args.species)
    images = load_images(args.data, species=args.species or pot.species)
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


def _convert(args):
    src, dst = args.input, args.output
    if src.endswith((".mtp", ".almtp")):
        from .potential import Potential

        pot = Potential.load(src, species=args.species)
        pot.save(dst, mlip_compatible=args.mlip)
        print(f"{dst}: {pot.format} potential, species {pot.species}")
        return
    from .cfg import write_cfg
    from .training import load_images

    images = load_images(src, species=args.species)
    if dst.endswith(".cfg"):
        write_cfg(dst, images, species=args.species)
    else:
        import ase.io

        ase.io.write(dst, images)
    print(f"{dst}: {len(images)} configurations")


def _train(args):
    from .training.config import load_config
    from .training.run import run_training

    cfg = load_config(args.config, overrides=args.set)
    run_training(cfg, resume=args.resume)


def _plugin_path(args):
    from .lammps_plugin import plugin_path

    print(plugin_path())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="mtp-lowrank", description=__doc__)
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("info", help="level, species, representation and parameter counts of a potential")
    p.add_argument("potential")
    p.add_argument("--species", nargs="+", help="chemical symbols of species 0.. (MLIP files do not name them)")
    p.set_defaults(func=_info)
    p = sub.add_parser("compress", help="factorize a potential's radial coefficients (SVD / TT-SVD)")
    p.add_argument("potential")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--mf", type=int, metavar="RANK")
    g.add_argument("--tt", type=int, nargs=3, metavar=("R1", "R2", "R3"))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--species", nargs="+")
    p.set_defaults(func=_compress)
    p = sub.add_parser("train", help="train a potential from a YAML configuration")
    p.add_argument("config")
    p.add_argument("--set", nargs="+", metavar="SECTION.KEY=VALUE", help="override configuration values")
    p.add_argument("--resume", metavar="CHECKPOINT.mtp", help="start from a checkpoint's parameters")
    p.set_defaults(func=_train)
    p = sub.add_parser("eval", help="RMSE/MAE of a potential on reference data, overall and per group")
    p.add_argument("potential")
    p.add_argument("data", nargs="+", help=".cfg or any file ASE reads (extxyz, OUTCAR, ...)")
    p.add_argument("--species", nargs="+")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=_eval)
    p = sub.add_parser("convert", help="configurations .cfg <-> extxyz (any ASE format); potentials: "
                       "record species (.mtp -> .mtp)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--species", nargs="+", help="symbols of types 0, 1, ... (.cfg files, MLIP potentials)")
    p.add_argument("--mlip", action="store_true", help="write a potential MLIP-compatibly (no species line)")
    p.set_defaults(func=_convert)
    p = sub.add_parser("lammps-plugin-path", help="print the path for LAMMPS' `plugin load`")
    p.set_defaults(func=_plugin_path)
    args = ap.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f"mtp-lowrank {args.verb}: {e}")


if __name__ == "__main__":
    main()
