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
    p = sub.add_parser("lammps-plugin-path", help="print the path for LAMMPS' `plugin load`")
    p.set_defaults(func=_plugin_path)
    args = ap.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f"mtp-lowrank {args.verb}: {e}")


if __name__ == "__main__":
    main()
