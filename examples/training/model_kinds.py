"""The paper's five model kinds as training-configuration settings, shared by the studies
(examples/training/nbmotaw_study.py, examples/flinak/flinak_study.py): base, MF, R-MF, MFRA
and TF, the compressed ones at about 50% of the base's radial parameters for N_T = 4, N_f = 4,
N_b = 8 (level 16; base 512):
  MF r = 5: 5 (16 + 32) = 240 (47%);  R-MF r = 6: manifold dimension 6 (48 - 6) = 252 (49%);
  MFRA r: 1 -> 5 (240);  TF (4, 4, 8): 4*4 + 4*4*4 + 4*4*8 + 8*8 = 272 (53%).
TF keeps the last rank at N_b = 8: (4, 6, 4) (240, 47%) truncates the (N_T N_T N_f) x N_b
unfolding to 4 of its 8 directions, and the trained NbMoTaW MF compressed so scores 3747
meV/atom before retraining (150 validation cells), against 23 meV/atom for (4, 4, 8).
At other levels N_f changes (MLIP's rule: 3 at level 12, 4 at 14 and 16, 5 at 18):
compressed_ranks picks, by the same counts, the ranks nearest to half of the base's.
"""

from __future__ import annotations

KINDS = ("base", "mf", "rmf", "mfra", "tf")
LEVEL16_RANKS = {"mf": 5, "rmf": 6, "tf": [4, 4, 8]}   # N_T = 4, N_f = 4, N_b = 8


def compressed_ranks(n_species: int, level: int, n_b: int = 8) -> dict:
    """{"mf": r, "rmf": r, "tf": [r1, r2, r3]} whose radial parameter counts are nearest to half
    of the base's N_T^2 N_f N_b (the lower rank on a tie), N_f from the level by MLIP's rule.
    MF: r (N_T^2 + N_f N_b); R-MF: the manifold dimension r (N_T^2 + N_f N_b - r); TF with
    r1 = N_T and r3 = N_b (module docstring): N_T^2 + r2 N_T^2 + r2 N_f N_b + N_b^2.
    For N_T = 4 at level 16 these are LEVEL16_RANKS."""
    from mtp_lowrank.basis import default_radial_funcs_count

    n_t2, n_f = n_species ** 2, default_radial_funcs_count(level)
    half = n_t2 * n_f * n_b / 2

    def nearest(count, largest):
        return min(range(1, largest + 1), key=lambda r: (abs(count(r) - half), r))

    cols = n_f * n_b
    return {"mf": nearest(lambda r: r * (n_t2 + cols), min(n_t2, cols)),
            "rmf": nearest(lambda r: r * (n_t2 + cols - r), min(n_t2, cols)),
            "tf": [n_species, nearest(lambda r: n_t2 + r * n_t2 + r * cols + n_b * n_b, min(n_t2, cols)), n_b]}


def mf_rank_of(kind: str) -> int | None:
    """The rank an MF at another rank names ('mf_r4' -> 4); None for any other kind. The one
    place that knows the mf_r<rank> form."""
    if kind.startswith("mf_r") and kind[4:].isdigit() and int(kind[4:]) > 0:
        return int(kind[4:])
    return None


def family(kind: str) -> str:
    """The kind among KINDS that `kind` is a variant of: 'mf_r4' -> 'mf'; KINDS map to themselves."""
    return "mf" if mf_rank_of(kind) is not None else kind


def parse_kind(text: str) -> str:
    """argparse type for a model kind: one of KINDS or mf_r<rank>."""
    if text in KINDS or mf_rank_of(text) is not None:
        return text
    raise ValueError(text)


def apply_kind(cfg: dict, kind: str, mfra_every: int = 80, ranks: dict | None = None) -> dict:
    """Set cfg's model and optimizer sections for `kind` (in place; returns cfg): one of KINDS
    or mf_r<rank> (MF at that rank). "base" leaves them as they are. `ranks`: the compressed
    kinds' ranks (compressed_ranks), LEVEL16_RANKS if not given."""
    m, opt = cfg["model"], cfg["optimizer"]
    ranks = ranks or LEVEL16_RANKS
    if mf_rank_of(kind) is not None:   # MF at another rank (e.g. the one a rank scan picks): mf_r3
        m.update(representation="mf", rank=mf_rank_of(kind))
    elif kind == "mf":
        m.update(representation="mf", rank=ranks["mf"])
    elif kind == "rmf":
        m.update(representation="mf", rank=ranks["rmf"])
        opt["method"] = "rmf"
    elif kind == "mfra":
        m["representation"] = "mf"
        opt.update(method="mfra", r_max=ranks["mf"], delta_r=1, s=mfra_every)
    elif kind == "tf":
        m.update(representation="tt", ranks=list(ranks["tf"]))
    elif kind != "base":
        raise ValueError(f"unknown model kind {kind!r} (one of {', '.join(KINDS)})")
    return cfg
