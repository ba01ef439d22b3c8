"""The README's snippets run as written, from the root of a clone beside ../shared."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
# command lines of the README's "Command line" section that finish in seconds (training and
# LAMMPS runs are tested elsewhere)
COMMAND_LINE = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
QUICK_COMMANDS = [l.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", COMMAND_LINE, re.S)
                  for l in block.splitlines()
                  if l.startswith(("mtp-lowrank info", "mtp-lowrank compress", "mtp-lowrank eval",
                                   "mtp-lowrank convert", "mtp-lowrank train --print-config"))]


def _in_clone(tmp_path):
    """A directory laid out like a clone (README paths are relative to its root)."""
    if not (SHARED / "data").exists() or not (SHARED / "bench").exists():
        pytest.skip(f"reference data {SHARED} not available")
    clone = tmp_path / "clone"
    clone.mkdir()
    (tmp_path / "shared").symlink_to(SHARED.resolve())
    return clone


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_snippet_runs(tmp_path, index):
    clone = _in_clone(tmp_path)
    proc = subprocess.run([sys.executable, "-c", PYTHON_BLOCKS[index]], cwd=clone, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_quick_commands_run(tmp_path):
    assert len(QUICK_COMMANDS) >= 7
    clone = _in_clone(tmp_path)
    exe = Path(sys.executable).parent / "mtp-lowrank"
    for line in QUICK_COMMANDS:
        args = line.split()
        proc = subprocess.run([str(exe)] + args[1:], cwd=clone, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
