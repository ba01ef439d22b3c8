// Per-atom MTP kernel: site energy V_i, dV_i/dr_ij for each neighbour and, on request,
// dV_i/d(parameters). One SiteEvaluator per thread; it owns its scratch buffers, which grow to
// the largest neighbourhood seen and are never reallocated per atom afterwards.
//
// Cost per neighbour: one radial basis evaluation, one (N_f x N_b) mat-vec for all f_mu and
// f_mu', the unit-vector monomials once, then one multiply-add per basic moment (forward) and
// one per nonzero entry of the basic moments' monomials and their gradients (reverse). The
// program (intermediate moments and their adjoints) runs on kLanes atoms at once, one per SIMD
// lane (compute_batch), so its cost per atom is about a quarter of a one-atom evaluation.
#pragma once
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mtp/potential.h"

namespace mtp {

// Dense accumulators of dE/d(parameters), full representation for the radial part.
struct SiteGradient {
  std::vector<double> species;  // (N_T)
  std::vector<double> moment;   // (N_alpha)
  std::vector<double> radial;   // (N_T, N_T, N_f, N_b): dE/dC
  void reset(const Potential& pot);
  void add(const SiteGradient& other);
};

// Neighbourhoods with a neighbour closer than the radial basis' min_dist: there the Chebyshev
// basis is extrapolated and nothing from training constrains the energy.
struct ShortRangeTally {
  long long sites = 0;                                     // such neighbourhoods
  double closest = std::numeric_limits<double>::infinity();  // shortest such distance (Angstrom)
  void add(const ShortRangeTally& other) {
    sites += other.sites;
    if (other.closest < closest) closest = other.closest;
  }
};

class SiteEvaluator {
 public:
  explicit SiteEvaluator(const Potential& pot);

  // type: species of the central atom; n neighbours with rij (n, 3) = r_j - r_i and species
  // ntypes (n). Neighbours at r >= cutoff are ignored (their dv_drij rows are zero).
  // dv_drij (n, 3) or nullptr; grad (accumulated into) or nullptr. Returns V_i.
  double compute(int type, int n, const double* rij, const int* ntypes, double* dv_drij,
                 SiteGradient* grad);

  // Atoms evaluated together: up to kLanes atoms, whose moment programs run side by side in
  // SIMD lanes (the program costs about as much for kLanes atoms as for one). Atom k as in
  // compute(): types[k], n[k], rij[k], ntypes[k], dv_drij[k] (dv_drij itself may be nullptr);
  // V of atom k into energies[k]; grad accumulates the sum over the atoms. An error names the
  // atom: it is a SiteError whose lane() is k.
  static constexpr int kLanes = 4;
  void compute_batch(int count, const int* types, const int* n, const double* const* rij,
                     const int* const* ntypes, double* const* dv_drij, SiteGradient* grad, double* energies);

  // Directional derivative for training losses: with pair tangents tij (n, 3) (a displacement
  // of each r_ij), accumulates G = dV_i/d(parameters) into `grad` and D_t G =
  // sum_j tij . d/dr_ij (dV_i/d(parameters)) into `dgrad` (both full representation).
  // Returns V_i. Defined in site_tangent.cpp.
  double compute_tangent(int type, int n, const double* rij, const int* ntypes,
                         const double* tij, SiteGradient& grad, SiteGradient& dgrad);
  // The same for up to kLanes atoms at once (as compute_batch; tij[k] (n[k], 3)); grad and
  // dgrad accumulate the sums over the atoms, V of atom k goes to energies[k].
  void compute_tangent_batch(int count, const int* types, const int* n, const double* const* rij,
                             const int* const* ntypes, const double* const* tij, SiteGradient& grad,
                             SiteGradient& dgrad, double* energies);

  const Potential& potential() const { return pot_; }
  // Short-range neighbourhoods seen since the last call (then the tally restarts).
  ShortRangeTally take_short_range() {
    const ShortRangeTally t = short_range_;
    short_range_ = ShortRangeTally();
    return t;
  }
  // Bytes held by tables and scratch buffers (for LAMMPS' memory_usage()).
  size_t memory_bytes() const;
  // Seconds per call of each stage of an energy+forces evaluation of this neighbourhood,
  // averaged over `repeats` (for the benchmark's breakdown; no effect on results).
  std::vector<std::pair<std::string, double>> profile(int type, int n, const double* rij, const int* ntypes,
                                                      int repeats);

 private:
  // Scratch of one neighbourhood, structure of arrays with neighbours contiguous (stride np, a
  // multiple of 4; padded lanes carry zero radial functions). Grown only.
  struct Neighbourhood {
    int capacity = 0;
    int na = 0, np = 0;                      // neighbours inside the cutoff, padded stride
    std::vector<int> active, active_type;    // (n_pad)
    std::vector<double> dist, unit;          // (n_pad), (3, n_pad)
    std::vector<double> mono;                // (n_mono, n_pad)
    std::vector<double> rb, drb;             // (N_b, n_pad): radial basis and derivative
    std::vector<double> f, df;               // (N_f, n_pad): f_mu(r), f_mu'(r)
    std::vector<double> acc;                 // (5, n_pad): stage accumulators
    std::vector<double> core_dedr;           // (n_pad): 1/2 dE_core/dr per neighbour (core only)
    std::vector<double> pqr;                 // (N_f, 4, n_pad): per-mu P, R_x, R_y, R_z
    // Tangent pass (compute_tangent_batch), grown there: dot = d/d(epsilon) along the tangents.
    std::vector<double> tdr, tdu;            // (n_pad), (3, n_pad): r_dot, rhat_dot
    std::vector<double> tdmono;              // (n_mono, n_pad)
    std::vector<double> tdf;                 // (N_f, n_pad): f_mu' * r_dot
    std::vector<double> tp, tdp;             // (N_f, n_pad): P_mu and its tangent
  };
  void grow(Neighbourhood& h, int n_pad);
  // Neighbours, radial functions, monomials and basic moments of atom `lane` into hoods_[lane]
  // and its lane of moments_.
  void forward_neighbours(int lane, int type, int n, const double* rij, const int* ntypes);
  // The program over all lanes: intermediate moments, then V of lane k into energies[k] for the
  // first `count` lanes (species types[k]).
  void program_stage(int count, const int* types, double* energies);
  // adjoint_ = dV/d moments (pull form), all lanes, after program_stage().
  void reverse_program();
  // The stages, in order (each documented where defined).
  void gather_neighbours(Neighbourhood& h, int n, const double* rij, const int* ntypes);
  void radial_basis_stage(Neighbourhood& h, int type);
  void radial_functions_stage(Neighbourhood& h, int type);
  void monomials_stage(Neighbourhood& h);
  void basic_moments_stage(Neighbourhood& h, int lane);
  void reverse_neighbours_stage(Neighbourhood& h, int lane, bool forces);
  void pair_derivatives_stage(Neighbourhood& h, double* dv_drij);
  void radial_gradient_stage(Neighbourhood& h, int type, SiteGradient* grad);
  // The stages of compute_tangent_batch (site_tangent.cpp).
  void tangent_neighbours_stage(Neighbourhood& h, int lane, const double* tij);
  void tangent_program_stage();
  void tangent_gradient_stage(Neighbourhood& h, int lane, int type, SiteGradient& grad, SiteGradient& dgrad);
  void build_sphere_moments(const MomentProgram& prog);
  void build_reverse_lists();
  // basic moments <- sphere moments (forward) and sphere adjoints <- basic adjoints (reverse),
  // all lanes; `sphere`/`basic` are (n_sphere, kLanes) / (n_basic, kLanes) arrays.
  void expand_sphere(const double* sphere, double* basic) const;
  void contract_sphere(const double* basic, double* sphere) const;

  const Potential& pot_;
  ShortRangeTally short_range_;
  int n_funcs_, n_basis_, n_species_, max_nu_;
  // Sphere monomials: on the unit sphere z^2 = 1 - x^2 - y^2, so every monomial of rhat of
  // degree <= max_nu is a fixed combination of the (max_nu + 1)^2 monomials rhat^(a,b,c) with
  // c <= 1 (49 instead of 84 at degree 6). Neighbour loops run over these only.
  // Exponents (n_mono, 3).
  int n_mono_;
  std::vector<int> mono_exp_;
  std::vector<int> mono_lower_;               // (n_mono, 3): monomial one degree lower per axis
  std::vector<double> mono_lower_coef_;       // (n_mono, 3): the exponent (0: absent)
  std::vector<int> mono_parent_, mono_axis_;  // (n_mono): monomial = parent * rhat[axis] (degree > 0)
  // Sphere moments S_s = sum_j f_mu(r_ij) m(rhat_ij) over the pairs s = (mu, sphere monomial m)
  // that the basic moments need: radial function and monomial of each.
  std::vector<int> sphere_mu_, sphere_mono_;    // (n_sphere)
  // Basic moment b = sum over its entries of coef * S_s: entries expand_begin_[b] ..
  // expand_begin_[b + 1] - 1 of (expand_sphere_, expand_coef_); the transpose, grouped by s,
  // in (contract_begin_, contract_basic_, contract_coef_).
  std::vector<int> expand_begin_, expand_sphere_;     // (N_basic + 1), (n_expand)
  std::vector<double> expand_coef_;                   // (n_expand)
  std::vector<int> contract_begin_, contract_basic_;  // (n_sphere + 1), (n_expand)
  std::vector<double> contract_coef_;                 // (n_expand)
  // The program's products grouped by target moment (each target's terms contiguous, targets
  // in an order where every moment is complete before it is read).
  struct Term { int i, j; double mult; };
  std::vector<Term> terms_;                   // (n_times)
  std::vector<int> target_, target_begin_;    // (n_targets), (n_targets + 1)
  // Reverse pass "pull" form: for every moment, the products that read it, as (k, other, mult):
  // adjoint[i] = seed[i] + sum mult * adjoint[k] * moment[other]; moments in reverse definition
  // order (targets reversed, then basic), so each adjoint is summed in a register, stored once.
  std::vector<int> pull_order_, pull_begin_;  // (n_moments), (n_moments + 1)
  std::vector<Term> pull_terms_;              // (2 n_times): i = k, j = other
  std::vector<double> seed_;                  // (n_moments): sum of xi over scalar_map hits
  // C[type_i, type_j, beta, mu]: the contracted radial table with mu innermost.
  int n_funcs_padded_;                        // N_f rounded up to a multiple of 4
  std::vector<double> table_t_;               // (N_T, N_T, N_b, n_funcs_padded_), zero padded

  Neighbourhood hoods_[kLanes];  // one per lane
  std::vector<int> mu_used_;                 // (N_f): any basic moment uses this mu
  // The reverse pass over neighbours as sparse sums over sphere monomials: for radial function
  // mu and output o (0: P_mu = sum_s g_s rhat^m_s, 1..3: R_mu,ax = d P_mu / d rhat_ax), the
  // entries rev_begin_[4 mu + o] .. rev_begin_[4 mu + o + 1] - 1, each a monomial rev_mono_[k]
  // with weight sphere_adjoint[rev_sphere_[k]] * rev_exp_[k] (the exponent lowered; 1 for P).
  std::vector<int> rev_begin_;               // (4 N_f + 1)
  std::vector<int> rev_mono_, rev_sphere_;    // (n_entries)
  std::vector<double> rev_exp_;              // (n_entries)
  std::vector<double> rev_weight_;           // (n_entries): per-atom scratch
  std::vector<double> moments_, adjoint_;    // (alpha_moments_count, kLanes)
  std::vector<double> sphere_, sphere_adjoint_;  // (n_sphere, kLanes): S and dV/dS
  // Tangent pass: the tangents of the moments and adjoints.
  std::vector<double> t_dmoments_, t_dadjoint_;  // (alpha_moments_count, kLanes)
  std::vector<double> t_dsphere_, t_dsphere_adjoint_;  // (n_sphere, kLanes)
};

}  // namespace mtp
