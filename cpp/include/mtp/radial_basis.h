// MLIP's RBChebyshev radial basis:
//   xi = (2r - (min_dist + max_dist)) / (max_dist - min_dist),  Q(r) = (max_dist - r)^2,
//   phi_beta(r) = scaling * T_beta(xi) * Q(r),  beta = 0..size-1.
// For r < min_dist the polynomials are simply extrapolated (|xi| > 1), exactly as MLIP does;
// callers only pass r < max_dist (phi and its derivative vanish at max_dist).
//
// Optional per species pair floor (ours, not MLIP's): below floor[a][b] (the shortest distance
// at which data pins the pair's radial functions down) phi continues linearly from the floor,
//   phi_beta(r) = phi_beta(floor) + phi_beta'(floor) (r - floor),
// so the radial functions keep their slope there instead of swinging like a degree-N_b
// polynomial outside the data.
#pragma once
#include <vector>

namespace mtp {

struct RadialBasis {
  double min_dist = 0.0;
  double max_dist = 0.0;  // = R_cut
  double scaling = 1.0;
  int size = 0;           // N_b
  std::vector<double> floor;  // (N_T, N_T) Angstrom, or empty: no floors (MLIP)

  void validate() const;  // throws InputError

  // vals[size], ders[size]: phi_beta(r) and d phi_beta / dr.
  inline void evaluate(double r, double* vals, double* ders) const {
    const double inv_width = 1.0 / (max_dist - min_dist);
    const double xi = (2.0 * r - (min_dist + max_dist)) * inv_width;
    const double dxi = 2.0 * inv_width;
    const double d = r - max_dist;
    const double q = scaling * d * d;
    const double dq = 2.0 * scaling * d;
    vals[0] = q;
    ders[0] = dq;
    if (size < 2) return;
    vals[1] = xi * q;
    ders[1] = dxi * q + xi * dq;
    for (int b = 2; b < size; ++b) {
      vals[b] = 2.0 * xi * vals[b - 1] - vals[b - 2];
      ders[b] = 2.0 * (dxi * vals[b - 1] + xi * ders[b - 1]) - ders[b - 2];
    }
  }
};

}  // namespace mtp
