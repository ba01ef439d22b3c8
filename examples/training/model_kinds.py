"""The paper's five model kinds as training-configuration settings, shared by the studies
(examples/training/nbmotaw_study.py, examples/flinak/flinak_study.py): base, MF, R-MF, MFRA
and TF, the compressed ones at about 50% of the base's radial parameters for N_T = 4, N_f = 4,
N_b = 8 (level 16; base 512):
  MF r = 5: 5 (16 + 32) = 240 (47%);  R-MF r = 6: manifold dimension 6 (48 - 6) = 252 (49%);
  MFRA r: 1 -> 5 (240);  TF (4, 4, 8): 4*4 + 4*4*4 + 4*4*8 + 8*8 = 272 (53%).
TF keeps the last rank at N_b = 8: (4, 6, 4) (240, 47%) truncates the (N_T N_T N_f) x N_b
unfolding to 4 of its 8 directions, and the trained NbMoTaW MF compressed so scores 3747
meV/atom before retraining (150 validation cells), against 23 meV/atom for (4, 4, 8). That
reason holds only for the pipeline's warm start, and it has a cost: with its outer ranks at
their largest, (4, 4, 8) is the MF of rank 4 with 80 redundant parameters (tf_ranks), so the
study's TF is an MF in another parameterization. tf_r<r> is a TF that is not (tf_r5: (4, 5, 5),
236, 46%; results/study/findings.md section 10).
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


RANKED = ("mf", "rmf", "mfra", "tf")   # kinds with a rank variant <kind>_r<rank> (rank_of; MFRA: its r_max)


def rank_of(kind: str) -> int | None:
    """The rank a kind at another rank names ('mf_r4' -> 4, 'tf_r5' -> 5, 'rmf_r3' -> 3, 'mfra_r4'
    -> 4, its final rank); None for any other kind. The one place that knows the <kind>_r<rank> form."""
    head, _, rank = kind.partition("_r")
    if head in RANKED and rank.isdigit() and int(rank) > 0:
        return int(rank)
    return None


def family(kind: str) -> str:
    """The kind among KINDS that `kind` is a variant of: 'mf_r4' -> 'mf'; KINDS map to themselves."""
    return kind.partition("_r")[0] if rank_of(kind) is not None else kind


def tf_ranks(n_species: int, n_b: int, rank: int) -> list[int]:
    """The TT ranks a TF of rank r stands for (tf_r<r>, rank_scan.py --kind tf): (N_T, r, min(r, N_b)).
    With the outer ranks at their largest, (N_T, r, N_b), a TT holds exactly the C whose
    (N_T^2) x (N_f N_b) unfolding has rank <= r, the MF of rank r (plus N_T^2 + N_b^2 redundant
    parameters): LEVEL16_RANKS' TF (4, 4, 8) is one. A last rank r3 < N_b is what a TT adds to
    the MF: every radial function of every species pair lies in one r3-dimensional subspace of
    the N_b Chebyshev polynomials."""
    return [n_species, rank, min(rank, n_b)]


def parse_kind(text: str) -> str:
    """argparse type for a model kind: one of KINDS or <kind>_r<rank> for the kinds of RANKED."""
    if text in KINDS or rank_of(text) is not None:
        return text
    raise ValueError(text)


def apply_kind(cfg: dict, kind: str, mfra_every: int = 80, ranks: dict | None = None) -> dict:
    """Set cfg's model and optimizer sections for `kind` (in place; returns cfg): one of KINDS
    or <kind>_r<rank> (that kind at that rank; tf_r<r>: TT ranks tf_ranks, N_T from
    data.species). "base" leaves them as they are. `ranks`: the compressed kinds' ranks
    (compressed_ranks), LEVEL16_RANKS if not given."""
    m, opt = cfg["model"], cfg["optimizer"]
    ranks = ranks or LEVEL16_RANKS
    if rank_of(kind) is not None:   # at another rank (e.g. the one a rank scan picks): mf_r3, tf_r5
        r, species = rank_of(kind), cfg["data"].get("species")
        if family(kind) == "tf" and not species:
            raise ValueError(f"{kind}: its TT ranks need N_T: name the species in data.species")
        ranks = {"mf": r, "rmf": r, "tf": tf_ranks(len(species or ()), m["radial_basis_size"], r)}
        return apply_kind(cfg, family(kind), mfra_every, ranks)
    if kind == "mf":
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
