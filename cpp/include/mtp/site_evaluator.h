// Per-atom MTP kernel: site energy V_i, dV_i/dr_ij for each neighbour and, on request,
// dV_i/d(parameters). One SiteEvaluator per thread; it owns its scratch buffers, which grow to
// the largest neighbourhood seen and are never reallocated per atom afterwards.
//
// Cost per neighbour: one radial basis evaluation, one (N_f x N_b) mat-vec for all f_mu and
// f_mu', the unit-vector monomials once, then one multiply-add per basic moment (forward) and a
// few per basic moment (reverse). The program's intermediates are evaluated once per atom.
#pragma once
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

class SiteEvaluator {
 public:
  explicit SiteEvaluator(const Potential& pot);

  // type: species of the central atom; n neighbours with rij (n, 3) = r_j - r_i and species
  // ntypes (n). Neighbours at r >= cutoff are ignored (their dv_drij rows are zero).
  // dv_drij (n, 3) or nullptr; grad (accumulated into) or nullptr. Returns V_i.
  double compute(int type, int n, const double* rij, const int* ntypes, double* dv_drij,
                 SiteGradient* grad);

  // All moments of the last compute() call, (alpha_moments_count); B_alpha = moments[map[alpha]].
  const std::vector<double>& moments() const { return moments_; }
  const Potential& potential() const { return pot_; }

 private:
  void grow(int n);

  const Potential& pot_;
  int n_funcs_, n_basis_, n_species_;
  // Unit-vector monomials rhat^(a,b,c), a+b+c <= max_nu, ordered by degree:
  // mono[m] = mono[mono_parent_[m]] * rhat[mono_axis_[m]] for m >= 1, mono[0] = 1.
  int n_mono_;
  std::vector<int> mono_parent_, mono_axis_;  // (n_mono)
  // Basic moments: radial function, monomial, degree, and for the gradient of the monomial the
  // monomials one degree lower along x, y, z with their exponents as coefficients.
  std::vector<int> basic_mu_, basic_mono_;    // (N_basic)
  std::vector<double> basic_nu_;              // (N_basic)
  std::vector<int> basic_lower_;              // (N_basic, 3)
  std::vector<double> basic_lower_coef_;      // (N_basic, 3)

  // Scratch, grown only.
  int capacity_ = 0;
  std::vector<int> active_;             // (n): neighbours inside the cutoff
  std::vector<double> dist_, unit_;     // (n), (n, 3)
  std::vector<double> mono_;            // (n, n_mono)
  std::vector<double> f_, df_;          // (n, N_f): f_mu(r), f_mu'(r)
  std::vector<double> rb_, drb_;        // (n, N_b): radial basis and derivative
  std::vector<double> moments_, adjoint_;  // (alpha_moments_count)
  std::vector<double> s_mu_;            // (N_f)
};

}  // namespace mtp
