"""The paper's five model kinds as training-configuration settings, shared by the studies
(examples/training/nbmotaw_study.py, examples/flinak/flinak_study.py): base, MF, R-MF, MFRA
and TF, the compressed ones at about 50% of the base's radial parameters for N_T = 4, N_f = 4,
N_b = 8 (level 16; base 512):
  MF r = 5: 5 (16 + 32) = 240 (47%);  R-MF r = 6: manifold dimension 6 (48 - 6) = 252 (49%);
  MFRA r: 1 -> 5 (240);  TF (4, 4, 8): 4*4 + 4*4*4 + 4*4*8 + 8*8 = 272 (53%).
TF keeps the last rank at N_b = 8: (4, 6, 4) (240, 47%) truncates the (N_T N_T N_f) x N_b
unfolding to 4 of its 8 directions, and the trained NbMoTaW MF compressed so scores 3747
meV/atom before retraining (150 validation cells), against 23 meV/atom for (4, 4, 8).
"""

from __future__ import annotations

KINDS = ("base", "mf", "rmf", "mfra", "tf")


def parse_kind(text: str) -> str:
    """argparse type for a model kind: one of KINDS or mf_r<rank>."""
    if text in KINDS or (text.startswith("mf_r") and text[4:].isdigit() and int(text[4:]) > 0):
        return text
    raise ValueError(text)


def apply_kind(cfg: dict, kind: str, mfra_every: int = 80) -> dict:
    """Set cfg's model and optimizer sections for `kind` (in place; returns cfg): one of KINDS
    or mf_r<rank> (MF at that rank). "base" leaves them as they are."""
    m, opt = cfg["model"], cfg["optimizer"]
    if kind.startswith("mf_r"):   # MF at another rank (e.g. the one a rank scan picks): mf_r3
        m.update(representation="mf", rank=int(kind[4:]))
    elif kind == "mf":
        m.update(representation="mf", rank=5)
    elif kind == "rmf":
        m.update(representation="mf", rank=6)
        opt["method"] = "rmf"
    elif kind == "mfra":
        m["representation"] = "mf"
        opt.update(method="mfra", r_max=5, delta_r=1, s=mfra_every)
    elif kind == "tf":
        m.update(representation="tt", ranks=[4, 4, 8])
    elif kind != "base":
        raise ValueError(f"unknown model kind {kind!r} (one of {', '.join(KINDS)})")
    return cfg
