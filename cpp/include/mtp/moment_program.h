// The basis as a program in MLIP's "alpha" form (the same tables MLIP files carry):
//   basic[b] = (mu, a, b, c): moment b = sum_j f_mu(r_ij) * rhat_x^a * rhat_y^b * rhat_z^c
//   times[t] = (i, j, mult, k): moment k += mult * moment i * moment j   (in order)
//   scalar_map[alpha] = index of the moment that is scalar basis function B_alpha.
// Moments 0..basic.size()-1 are the basic ones; the rest are intermediates built by `times`.
#pragma once
#include <array>
#include <vector>

namespace mtp {

struct MomentProgram {
  int moments_count = 0;                  // alpha_moments_count
  std::vector<std::array<int, 4>> basic;  // alpha_index_basic
  std::vector<std::array<int, 4>> times;  // alpha_index_times
  std::vector<int> scalar_map;            // alpha_moment_mapping

  // Throws InputError unless indices are in range, mu < n_funcs, and every moment is complete
  // before it is read (MLIP evaluates `times` in order).
  void validate(int n_funcs) const;
  int max_mu() const;
  int max_nu() const;  // highest a+b+c over basic moments
};

}  // namespace mtp
