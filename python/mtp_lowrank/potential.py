"""`Potential`: an immutable Moment Tensor Potential backed by the C++ kernel."""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from . import _core
from .basis import default_radial_funcs_count, generate_program
from .factorization import (check_mf_rank, check_tt_ranks, max_mf_rank, max_tt_ranks, mf_from_full,
                            tt_from_full)
from .species import check_species_list, species_indices, species_table, types_from_mlip

__all__ = ["Potential"]


class Potential:
    """A Moment Tensor Potential with radial coefficients stored as `full` C, `mf` (U, V) or
    `tt` (G1..G4). Parameters never change after construction: methods that modify return a new
    Potential.

    Energy: E = sum_i V_i, V_i = species_coeffs[z_i] + sum_alpha moment_coeffs[alpha] B_alpha(i).
    """

    def __init__(self, core: "_core.Potential", species=None):
        self._core = core
        names = list(core.species_names)
        if species is not None:
            species = check_species_list(species)
            if len(species) != core.n_species:
                raise ValueError(
                    f"{len(species)} species given for a potential with species_count = {core.n_species}"
                    + ("" if core.mlip_types == list(range(core.n_species)) else
                       f" (MLIP types {' '.join(map(str, core.mlip_types))}, in block order)")
                )
            if names and names != species:
                raise ValueError(f"the potential names its species {names}, not {species}")
            names = species
        self._species = names or None

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_level(
        cls,
        level: int,
        species,
        min_dist: float,
        max_dist: float,
        radial_basis_size: int = 8,
        radial_funcs_count: int | None = None,
        max_factors: int = 4,
        max_mu: int = 5,
        max_nu: int = 10,
        scaling: float = 1.0,
        seed: int | None = None,
        name: str = "MTP1m",
    ) -> "Potential":
        """A new level-`level` MTP for `species` (chemical symbols, or an int count for unnamed
        species). Radial coefficients are random (uniform in +-1/N_b, reproducible from `seed`);
        linear coefficients are zero. The basis caps (`max_factors`, `max_mu`, `max_nu`) default
        to MLIP's."""
        if isinstance(species, int):
            n_species, names = species, None
        else:
            names = check_species_list(species)
            n_species = len(names)
        if n_species < 1:
            raise ValueError("need at least one species")
        if level < 2:
            raise ValueError(f"level must be >= 2, got {level}")
        program = generate_program(level, max_factors=max_factors, max_mu=max_mu, max_nu=max_nu)
        n_funcs = radial_funcs_count or default_radial_funcs_count(level)
        used_mu = int(program.basic[:, 0].max()) + 1
        if n_funcs < used_mu:
            raise ValueError(f"a level-{level} basis uses {used_mu} radial functions, got radial_funcs_count = {n_funcs}")
        rng = np.random.default_rng(seed)
        c = rng.uniform(-1.0, 1.0, (n_species, n_species, n_funcs, radial_basis_size)) / radial_basis_size
        core = _core.Potential(
            min_dist=min_dist, max_dist=max_dist, scaling=scaling, n_species=n_species,
            n_funcs=n_funcs, n_basis=radial_basis_size, format="full", factors=[c], ranks=[],
            moments_count=program.moments_count, basic=program.basic, times=program.times,
            scalar_map=program.scalar_map.tolist(), species_coeffs=np.zeros(n_species),
            moment_coeffs=np.zeros(len(program.scalar_map)), species_names=names or [], name=name,
        )
        pot = cls(core)
        pot.__dict__["level"] = level
        return pot

    @classmethod
    def load(cls, path: str | os.PathLike, species=None) -> "Potential":
        """Read an MLIP `.mtp`/`.almtp` file or an mtp-lowrank mf/tt file. `species`: chemical
        symbols of the file's species in block order, when the file does not name them (MLIP
        files never do). The MLIP type number of each species (the block labels, e.g. 1 and 2
        for a potential from `mlp train`) is kept: see `mlip_types`."""
        return cls(_core.read_potential(os.fspath(path)), species)

    def save(self, path: str | os.PathLike, mlip_compatible: bool | None = None) -> None:
        """Write the potential. `full` potentials without radial floors or a repulsive core are
        MLIP-compatible by default (no species line; MLIP and motep read them); pass
        mlip_compatible=False to record the species. mf/tt potentials and those with floors or
        a core use the mtp-lowrank extension and always record known species."""
        if mlip_compatible is None:
            mlip_compatible = self._mlip_can_read()
        _core.write_potential(self._with_names(), os.fspath(path), not mlip_compatible)

    def to_text(self, mlip_compatible: bool | None = None) -> str:
        """The file save() writes, without MLIP-3's binary active-learning block."""
        if mlip_compatible is None:
            mlip_compatible = self._mlip_can_read()
        data = _core.format_potential(self._with_names(), not mlip_compatible)
        return data.split(b"\n#MVS", 1)[0].decode()

    def _mlip_can_read(self) -> bool:
        return self.format == "full" and self.radial_floor is None and self.repulsive_core is None

    def _with_names(self) -> "_core.Potential":
        if self._species and not list(self._core.species_names):
            return self._rebuild()._core
        return self._core

    # ---- read-only views --------------------------------------------------------------------
    @property
    def species(self) -> list[str] | None:
        return None if self._species is None else list(self._species)

    @property
    def mlip_types(self) -> list[int]:
        """The MLIP type number of each species: the labels of the file's radial_coeffs blocks
        (0, 1, ... for our potentials; `mlp train` takes them from its training .cfg, often 1,
        2, ...). Atoms read from MLIP .cfg files carry these numbers."""
        return list(self._core.mlip_types)

    @property
    def cfg_species(self) -> dict[int, str] | None:
        """{MLIP type number: chemical symbol}, for read_cfg(..., species=...); None when the
        species are unnamed."""
        return None if self._species is None else dict(zip(self.mlip_types, self._species))

    @property
    def n_species(self) -> int:
        return self._core.n_species

    @property
    def format(self) -> str:
        return self._core.format

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(self._core.ranks)

    @property
    def min_dist(self) -> float:
        return self._core.min_dist

    @property
    def max_dist(self) -> float:
        return self._core.max_dist

    cutoff = max_dist

    @property
    def scaling(self) -> float:
        return self._core.scaling

    @property
    def radial_basis_size(self) -> int:
        return self._core.radial_basis_size

    @property
    def radial_funcs_count(self) -> int:
        return self._core.n_funcs

    @property
    def radial_coeffs(self) -> np.ndarray:
        """C (N_T, N_T, N_f, N_b), contracted from the factors for mf/tt."""
        return self._core.radial_coeffs

    @property
    def factors(self) -> list[np.ndarray]:
        """Stored radial parameters: [C] (full), [U, V] (mf) or [G1, G2, G3, G4] (tt)."""
        return list(self._core.factors)

    @property
    def species_coeffs(self) -> np.ndarray:
        return self._core.species_coeffs

    @property
    def moment_coeffs(self) -> np.ndarray:
        return self._core.moment_coeffs

    @property
    def trained(self) -> bool:
        return self._core.trained

    @property
    def n_basis_functions(self) -> int:
        return len(self._core.alpha_moment_mapping)

    @cached_property
    def level(self) -> int:
        """Level of the basis (the highest level of a scalar basis function), derived from the
        program: a product's level is the sum of its factors' levels."""
        basic = self._core.alpha_index_basic
        times = self._core.alpha_index_times
        lev = np.zeros(self._core.moments_count, dtype=int)
        lev[: len(basic)] = 2 + 4 * basic[:, 0] + basic[:, 1:].sum(axis=1)
        for i, j, _, k in times:
            lev[k] = lev[i] + lev[j]
        mapping = self._core.alpha_moment_mapping
        return int(lev[mapping].max()) if len(mapping) else 0

    def parameter_count(self, part: str = "radial") -> int:
        """Number of parameters. part='radial' (the paper's counts: N_T^2 N_f N_b for full,
        r (N_T^2 + N_f N_b) for mf, sum r_{k-1} n_k r_k for tt), 'moment' (xi), 'species', or
        'all'."""
        counts = {
            "radial": sum(f.size for f in self.factors),
            "moment": self.n_basis_functions,
            "species": self.n_species,
        }
        if part == "all":
            return sum(counts.values())
        if part not in counts:
            raise ValueError(f"part must be one of radial, moment, species, all; got {part!r}")
        return counts[part]

    # ---- flat parameter vector (layout of evaluate(..., param_gradient=True)["grad"]) -------
    def parameter_vector(self) -> np.ndarray:
        """[species_coeffs, moment_coeffs, stored radial factors (row-major, in order)]."""
        return np.concatenate([self.species_coeffs, self.moment_coeffs] + [f.ravel() for f in self.factors])

    def with_parameter_vector(self, x) -> "Potential":
        """A copy whose parameters are taken from a vector laid out as parameter_vector()."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.parameter_count("all"),):
            raise ValueError(f"parameter vector has shape {x.shape}, expected ({self.parameter_count('all')},)")
        ns, nm = self.n_species, self.n_basis_functions
        factors, at = [], ns + nm
        for f in self.factors:
            factors.append(x[at: at + f.size].reshape(f.shape))
            at += f.size
        return self._rebuild(species_coeffs=x[:ns], moment_coeffs=x[ns: ns + nm], factors=factors)

    # ---- new potentials from this one ---------------------------------------------------------
    def replace(self, *, species_coeffs=None, moment_coeffs=None, factors=None, format=None,
                ranks=None, species=None) -> "Potential":
        """A copy with some parameters replaced (arrays are copied; shapes are checked)."""
        return self._rebuild(species_coeffs, moment_coeffs, factors, format, ranks, species)

    def _rebuild(self, species_coeffs=None, moment_coeffs=None, factors=None, format=None,
                 ranks=None, species=None, radial_floor=None, core=None) -> "Potential":
        c = self._core
        fmt = format or c.format
        if factors is None:
            if fmt != c.format:
                raise ValueError("changing the radial format needs new factors")
            factors = c.factors
        ranks = list(ranks) if ranks is not None else (list(c.ranks) if fmt == c.format else [])
        names = species if species is not None else (self._species or [])
        # MLIP-3's active-learning block belongs to these exact parameters
        unchanged = all(v is None for v in (species_coeffs, moment_coeffs, factors, format, ranks, radial_floor, core))
        z, inner, outer = (c.core_atomic_numbers, c.core_inner, c.core_outer) if core is None else core
        core = _core.Potential(
            min_dist=c.min_dist, max_dist=c.max_dist, scaling=c.scaling, n_species=c.n_species,
            n_funcs=c.n_funcs, n_basis=c.radial_basis_size, format=fmt,
            factors=[np.asarray(f, dtype=float) for f in factors], ranks=ranks,
            moments_count=c.moments_count, basic=c.alpha_index_basic, times=c.alpha_index_times,
            scalar_map=list(c.alpha_moment_mapping),
            species_coeffs=c.species_coeffs if species_coeffs is None else np.asarray(species_coeffs, float),
            moment_coeffs=c.moment_coeffs if moment_coeffs is None else np.asarray(moment_coeffs, float),
            species_names=list(names), name=c.name, mlip_types=list(c.mlip_types),
            mlip_selection_state=c.mlip_selection_state if unchanged else b"",
            radial_floor=list(c.radial_floor) if radial_floor is None else list(np.ravel(radial_floor)),
            core_atomic_numbers=[int(v) for v in z], core_inner=[float(v) for v in np.ravel(inner)],
            core_outer=[float(v) for v in np.ravel(outer)],
        )
        pot = Potential(core)
        if "level" in self.__dict__:
            pot.__dict__["level"] = self.level
        return pot

    @property
    def radial_floor(self) -> np.ndarray | None:
        """(N_T, N_T) per species pair, or None: below floor[a, b] the radial basis continues
        linearly from its value and slope there (see radial_basis.h) instead of being
        extrapolated as a polynomial."""
        f = self._core.radial_floor
        return None if not f else np.asarray(f).reshape(self.n_species, self.n_species)

    def with_radial_floor(self, floor) -> "Potential":
        """A copy with per-species-pair floors (N_T, N_T), e.g. from shortest_pair_distances on
        the training data; an empty list removes them."""
        floor = np.asarray(floor, dtype=float)
        if floor.size and floor.shape != (self.n_species, self.n_species):
            raise ValueError(f"radial floor must have shape ({self.n_species}, {self.n_species}), got {floor.shape}")
        return self._rebuild(radial_floor=floor.ravel())

    @property
    def repulsive_core(self) -> dict | None:
        """The fixed ZBL core (repulsive_core.h) or None: {"atomic_numbers": (N_T),
        "inner": (N_T, N_T), "outer": (N_T, N_T)}; full ZBL below inner, none above outer."""
        c = self._core
        if not c.core_atomic_numbers:
            return None
        n = self.n_species
        return {"atomic_numbers": list(c.core_atomic_numbers), "inner": np.reshape(c.core_inner, (n, n)),
                "outer": np.reshape(c.core_outer, (n, n))}

    def with_repulsive_core(self, outer, width: float = 0.5, atomic_numbers=None) -> "Potential":
        """A copy with a ZBL repulsive core switched on smoothly from `outer` (A, scalar or
        (N_T, N_T), e.g. the radial floors) down to outer - width, below which it is full ZBL.
        Atomic numbers default to the species names'. It is a fixed baseline: training fits
        the MTP on top of it (with outer at or below the data's shortest distances it changes
        nothing on the data). outer=None removes it."""
        n = self.n_species
        if outer is None:
            return self._rebuild(core=([], [], []))
        if atomic_numbers is None:
            if not self.species:
                raise ValueError("the potential's species have no names: give atomic_numbers")
            from ase.data import atomic_numbers as z_of
            atomic_numbers = [z_of[s] for s in self.species]
        outer = np.broadcast_to(np.asarray(outer, dtype=float), (n, n))
        if not width > 0:
            raise ValueError(f"core width must be > 0, got {width}")
        return self._rebuild(core=(list(atomic_numbers), np.maximum(outer - width, 0.0), outer))

    def to_full(self) -> "Potential":
        """The same potential with C stored in full."""
        return self._rebuild(factors=[self.radial_coeffs], format="full", ranks=[])

    def to_mf(self, rank: int) -> "Potential":
        """Matrix factorization by truncated SVD of reshape(C, [N_T^2, N_f N_b]); rank at most
        max_mf_rank()."""
        rank = check_mf_rank(rank, self.n_species, self.radial_funcs_count, self.radial_basis_size)
        u, v = mf_from_full(self.radial_coeffs, rank)
        return self._rebuild(factors=[u, v], format="mf", ranks=[rank])

    def to_tt(self, ranks) -> "Potential":
        """Tensor train by TT-SVD with ranks (r1, r2, r3), each at most max_tt_ranks()."""
        ranks = check_tt_ranks(ranks, self.n_species, self.radial_funcs_count, self.radial_basis_size)
        return self._rebuild(factors=tt_from_full(self.radial_coeffs, ranks), format="tt", ranks=ranks)

    def max_mf_rank(self) -> int:
        """min(N_T^2, N_f N_b): an MF rank above it only adds parameters."""
        return max_mf_rank(self.n_species, self.radial_funcs_count, self.radial_basis_size)

    def max_tt_ranks(self) -> tuple[int, int, int]:
        """Largest useful TT ranks (r1, r2, r3): the ranks of C's unfoldings can be no larger."""
        return max_tt_ranks(self.n_species, self.radial_funcs_count, self.radial_basis_size)

    # ---- evaluation ----------------------------------------------------------------------------
    def evaluator(self, n_threads: int = 0) -> "_core.Evaluator":
        """A reusable C++ evaluator (owns neighbour-list and scratch buffers)."""
        return _core.Evaluator(self._core, n_threads)

    def types_of(self, atoms) -> np.ndarray:
        """Species index of each atom of an ase.Atoms: by chemical symbol; for atoms read from a
        .cfg file without element names (symbol 'X'), or for a potential that does not name its
        species, by their MLIP type numbers (`arrays['mlip_type']`, matched to `mlip_types`)."""
        untyped = self._species is None or not np.any(atoms.numbers)   # 'X' atoms of a .cfg read without species
        if untyped and "mlip_type" in atoms.arrays:
            return types_from_mlip(atoms.arrays["mlip_type"], self.mlip_types)
        return species_indices(atoms.numbers, self._species, self._species_lookup)

    @cached_property
    def _species_lookup(self):
        """Atomic number -> species index table (None when the species are unnamed)."""
        return None if self._species is None else species_table(self._species)

    def evaluate(self, atoms, forces: bool = True, param_gradient: bool = False,
                 site_virials: bool = False, types=None, evaluator=None,
                 min_distance: float = 0.1, site_param_gradients: bool = False) -> dict:
        """Energy, per-atom energies, forces, virial and stress (ASE convention, eV/A^3; virial
        and stress need forces=True and a periodic cell) of an ase.Atoms; with param_gradient,
        dE/d(species_coeffs, moment_coeffs, stored radial factors); with site_param_gradients,
        "site_gradients" (N, N_T + N_alpha + N_T^2 N_f N_b): dV_i/d(species_coeffs,
        moment_coeffs, full radial C) of each atom. `types` overrides the symbol-based species
        mapping."""
        if types is None:
            types = self.types_of(atoms)
        types = np.ascontiguousarray(types, dtype=np.int32)
        ev = evaluator or self.evaluator()
        cell = np.ascontiguousarray(atoms.cell.array, dtype=float)
        pbc = [bool(p) for p in atoms.pbc]
        res = ev.evaluate(np.ascontiguousarray(atoms.positions, dtype=float), types, cell, pbc,
                          forces=forces, site_virials=site_virials, param_gradient=param_gradient,
                          min_distance=min_distance, site_param_gradients=site_param_gradients)
        if all(pbc) and "virial" in res:
            res["stress"] = -res["virial"] / atoms.get_volume()
        if param_gradient:
            res["grad"] = np.concatenate([res["grad_species"], res["grad_moment"], res["grad_radial"]])
        return res

    def __repr__(self) -> str:
        sp = ",".join(self._species) if self._species else f"{self.n_species} unnamed"
        rk = f" ranks={self.ranks}" if self.ranks else ""
        return (f"Potential(level={self.level}, species=[{sp}], format={self.format}{rk}, "
                f"cutoff={self.max_dist}, radial_params={self.parameter_count()})")
