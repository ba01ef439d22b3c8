// A fixed short-range repulsion added to the MTP (ours, not MLIP's), as pacemaker gives ACE a
// ZBL core: for a pair of species (a, b) at distance r,
//   E_core(r) = S_ab(r) * ZBL_ab(r),
//   ZBL_ab(r) = k Z_a Z_b / r * phi(r / l_ab),  l_ab = 0.46850 / (Z_a^0.23 + Z_b^0.23) A,
//   phi(x) = 0.18175 e^{-3.19980 x} + 0.50986 e^{-0.94229 x} + 0.28022 e^{-0.40290 x}
//          + 0.02817 e^{-0.20162 x}     (Ziegler, Biersack, Littmark, 1985),  k = 14.399645 eV A,
//   S_ab(r) = 1 below inner[a][b], 0 above outer[a][b], 1 - t^3 (10 - 15 t + 6 t^2) between
//             (t = (r - inner) / (outer - inner): value, slope and curvature continuous).
// Each site takes half of each pair: V_i += 1/2 sum_j E_core(r_ij). With outer at or below the
// shortest distance of each pair in the training data the core changes nothing there; it only
// keeps atoms apart where no data constrains the MTP. It has no trainable parameters.
#pragma once
#include <cmath>
#include <vector>

namespace mtp {

struct RepulsiveCore {
  std::vector<int> atomic_numbers;   // (N_T) Z of each species; empty: no core
  std::vector<double> inner, outer;  // (N_T, N_T) Angstrom, symmetric, 0 <= inner < outer

  bool enabled() const { return !atomic_numbers.empty(); }
  // throws InputError naming the entry; outer must stay below the cutoff
  void validate(int n_species, double cutoff) const;

  // E_core of species (a, b) at distance r and dE_core/dr; zero at r >= outer.
  inline double pair(int a, int b, double r, double* dedr) const {
    const int n = int(atomic_numbers.size());
    const double ro = outer[size_t(a) * n + b];
    if (r >= ro) {
      *dedr = 0.0;
      return 0.0;
    }
    constexpr double k = 14.399645;  // e^2 / (4 pi eps0), eV A
    constexpr double c[4] = {0.18175, 0.50986, 0.28022, 0.02817};
    constexpr double d[4] = {3.19980, 0.94229, 0.40290, 0.20162};
    const double za = atomic_numbers[a], zb = atomic_numbers[b];
    const double inv_l = (std::pow(za, 0.23) + std::pow(zb, 0.23)) / 0.46850;
    const double x = r * inv_l;
    double phi = 0.0, dphi = 0.0;  // dphi: d phi / dx
    for (int q = 0; q < 4; ++q) {
      const double e = c[q] * std::exp(-d[q] * x);
      phi += e;
      dphi -= d[q] * e;
    }
    const double pre = k * za * zb;
    const double zbl = pre * phi / r;
    const double dzbl = pre * (dphi * inv_l / r - phi / (r * r));
    const double ri = inner[size_t(a) * n + b];
    if (r <= ri) {
      *dedr = dzbl;
      return zbl;
    }
    const double w = ro - ri, t = (r - ri) / w;
    const double s = 1.0 - t * t * t * (10.0 - 15.0 * t + 6.0 * t * t);
    const double ds = -30.0 * t * t * (1.0 - t) * (1.0 - t) / w;
    *dedr = dzbl * s + zbl * ds;
    return zbl * s;
  }
};

}  // namespace mtp
