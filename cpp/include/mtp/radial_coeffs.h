// Radial coefficients C[z_i, z_j, mu, beta] in one of three stored representations:
//   full: C                                   shape (N_T, N_T, N_f, N_b)
//   mf:   reshape(C, [N_T^2, N_f*N_b]) = U V^T U (N_T^2, r), V (N_f*N_b, r), row-major
//   tt:   C[a,b,m,k] = G1[:,a,:] G2[:,b,:] G3[:,m,:] G4[:,k,:]
//         G1 (1, N_T, r1), G2 (r1, N_T, r2), G3 (r2, N_f, r3), G4 (r3, N_b, 1), row-major
// The factors are contracted once, at construction, into pair_table() (the full C); the site
// kernel reads only that table, so evaluation costs the same in every representation.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace mtp {

enum class RadialFormat { Full, MF, TT };
const char* format_name(RadialFormat f);

struct RadialShape {
  int n_species = 0;  // N_T
  int n_funcs = 0;    // N_f
  int n_basis = 0;    // N_b
  size_t full_size() const { return size_t(n_species) * n_species * n_funcs * n_basis; }
};

class RadialCoeffs {
 public:
  RadialCoeffs() = default;
  static RadialCoeffs full(RadialShape shape, std::vector<double> c);
  static RadialCoeffs mf(RadialShape shape, int rank, std::vector<double> u,
                         std::vector<double> v);
  static RadialCoeffs tt(RadialShape shape, std::array<int, 3> ranks,
                         std::array<std::vector<double>, 4> cores);

  RadialFormat format() const { return format_; }
  const RadialShape& shape() const { return shape_; }
  int mf_rank() const { return mf_rank_; }
  const std::array<int, 3>& tt_ranks() const { return tt_ranks_; }

  // Stored factors: full -> {C}; mf -> {U, V}; tt -> {G1, G2, G3, G4}.
  const std::vector<std::vector<double>>& factors() const { return factors_; }
  // Shapes of the stored factors, as listed above.
  std::vector<std::vector<int>> factor_shapes() const;
  // Number of stored radial numbers (the paper's parameter counts).
  size_t parameter_count() const;

  // C contracted from the factors, (N_T, N_T, N_f, N_b).
  const std::vector<double>& pair_table() const { return table_; }

  // Chain rule: given dL/dC (N_T, N_T, N_f, N_b), return dL/d(stored factors), concatenated
  // in factors() order.
  std::vector<double> pullback(const double* d_table) const;

 private:
  void contract();
  RadialFormat format_ = RadialFormat::Full;
  RadialShape shape_;
  int mf_rank_ = 0;
  std::array<int, 3> tt_ranks_{{0, 0, 0}};
  std::vector<std::vector<double>> factors_;
  std::vector<double> table_;
};

}  // namespace mtp
