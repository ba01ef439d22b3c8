// Per-atom MTP kernel: site energy V_i, dV_i/dr_ij for each neighbour and, on request,
// dV_i/d(parameters). One SiteEvaluator per thread; it owns its scratch buffers, which grow to
// the largest neighbourhood seen and are never reallocated per atom afterwards.
//
// Cost per neighbour: one radial basis evaluation, one (N_f x N_b) mat-vec for all f_mu and
// f_mu', the unit-vector monomials once, then one multiply-add per basic moment (forward) and a
// few per basic moment (reverse). The program's intermediates are evaluated once per atom.
#pragma once
#include <limits>
#include <string>
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

  // Directional derivative for training losses: with pair tangents tij (n, 3) (a displacement
  // of each r_ij), accumulates G = dV_i/d(parameters) into `grad` and D_t G =
  // sum_j tij . d/dr_ij (dV_i/d(parameters)) into `dgrad` (both full representation).
  // Returns V_i. Defined in site_tangent.cpp.
  double compute_tangent(int type, int n, const double* rij, const int* ntypes,
                         const double* tij, SiteGradient& grad, SiteGradient& dgrad);

  // All moments of the last compute() call, (alpha_moments_count); B_alpha = moments[map[alpha]].
  const std::vector<double>& moments() const { return moments_; }
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
  void grow(int n_pad);
  // Neighbours, radial functions, monomials, basic moments and the program; returns V_i and
  // leaves na_ (neighbours inside the cutoff) and np_ (padded stride) set.
  double forward(int type, int n, const double* rij, const int* ntypes);
  // adjoint_ = dV_i / d moments (pull form), after forward().
  void reverse_program();
  // The stages of forward() and compute(), in order (each documented where defined).
  void gather_neighbours(int n, const double* rij, const int* ntypes);
  void radial_basis_stage(int type);
  void radial_functions_stage(int type);
  void monomials_stage();
  void basic_moments_stage();
  double program_stage(int type);
  void reverse_neighbours_stage(bool forces);
  void pair_derivatives_stage(double* dv_drij);
  void radial_gradient_stage(int type, SiteGradient* grad);

  const Potential& pot_;
  ShortRangeTally short_range_;
  int n_funcs_, n_basis_, n_species_, max_nu_;
  // Unit-vector monomials rhat^(a,b,c), a+b+c <= max_nu: exponents (n_mono, 3).
  int n_mono_;
  std::vector<int> mono_exp_;
  std::vector<int> mono_lower_;               // (n_mono, 3): monomial one degree lower per axis
  std::vector<double> mono_lower_coef_;       // (n_mono, 3): the exponent (0: absent)
  // Basic moments: radial function, monomial, degree, and for the gradient of the monomial the
  // monomials one degree lower along x, y, z with their exponents as coefficients (0: absent).
  std::vector<int> basic_mu_, basic_mono_;    // (N_basic)
  std::vector<double> basic_nu_;              // (N_basic)
  std::vector<int> basic_lower_;              // (N_basic, 3)
  std::vector<double> basic_lower_coef_;      // (N_basic, 3)
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
  std::vector<double> table_t_;               // (N_T, N_T, N_b, N_f)

  // Scratch, structure of arrays with neighbours contiguous (stride n_pad, a multiple of 4;
  // padded lanes carry zero radial functions). Grown only.
  int capacity_ = 0;
  int na_ = 0, np_ = 0;                      // current neighbourhood: inside cutoff, padded
  std::vector<int> active_, active_type_;    // (n_pad)
  std::vector<double> dist_, unit_;          // (n_pad), (3, n_pad)
  std::vector<double> powers_;               // (3, max_nu + 1, n_pad)
  std::vector<double> mono_;                 // (n_mono, n_pad)
  std::vector<double> rb_, drb_;             // (N_b, n_pad): radial basis and derivative
  std::vector<double> f_, df_;               // (N_f, n_pad): f_mu(r), f_mu'(r)
  std::vector<double> acc_;                  // (5, n_pad): reverse-pass accumulators
  std::vector<double> core_dedr_;            // (n_pad): 1/2 dE_core/dr per neighbour (core only)
  std::vector<double> pqr_;                  // (N_f, 5, n_pad): per-mu P, Q, R_x, R_y, R_z
  std::vector<int> mu_used_;                 // (N_f): any basic moment uses this mu
  // Basic moments grouped by radial function: basics of mu are by_mu_[by_mu_begin_[mu]..].
  std::vector<int> by_mu_, by_mu_begin_;     // (N_basic), (N_f + 1)
  std::vector<double> moments_, adjoint_;    // (alpha_moments_count)
  // Tangent-pass scratch (compute_tangent), grown only: dot = d/d(epsilon) along tij.
  std::vector<double> t_dr_, t_du_;          // (n_pad), (3, n_pad)
  std::vector<double> t_dmono_;              // (n_mono, n_pad)
  std::vector<double> t_df_;                 // (N_f, n_pad): f_mu' * r_dot
  std::vector<double> t_p_, t_dp_;           // (N_f, n_pad): P_mu and its tangent
  std::vector<double> t_dmoments_, t_dadjoint_;  // (alpha_moments_count)
};

}  // namespace mtp
