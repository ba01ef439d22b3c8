#include "mtp/radial_coeffs.h"

#include <cmath>
#include <string>

#include "mtp/errors.h"

namespace mtp {

const char* format_name(RadialFormat f) {
  switch (f) {
    case RadialFormat::Full: return "full";
    case RadialFormat::MF: return "mf";
    case RadialFormat::TT: return "tt";
  }
  return "?";
}

namespace {

void check_shape(const RadialShape& s) {
  if (s.n_species < 1 || s.n_funcs < 1 || s.n_basis < 1)
    throw InputError("radial coefficients: species, function and basis counts must be >= 1");
}

void check_factor(const std::vector<double>& f, size_t expected, const std::string& what) {
  if (f.size() != expected)
    throw InputError("radial coefficients: " + what + " has " + std::to_string(f.size()) +
                     " numbers, its shape needs " + std::to_string(expected));
  for (size_t i = 0; i < f.size(); ++i)
    if (!std::isfinite(f[i]))
      throw InputError("radial coefficients: " + what + " entry " + std::to_string(i) +
                       " is not finite");
}

}  // namespace

RadialCoeffs RadialCoeffs::full(RadialShape shape, std::vector<double> c) {
  check_shape(shape);
  check_factor(c, shape.full_size(), "C");
  RadialCoeffs rc;
  rc.format_ = RadialFormat::Full;
  rc.shape_ = shape;
  rc.factors_ = {std::move(c)};
  rc.contract();
  return rc;
}

RadialCoeffs RadialCoeffs::mf(RadialShape shape, int rank, std::vector<double> u,
                              std::vector<double> v) {
  check_shape(shape);
  if (rank < 1) throw InputError("radial coefficients: mf rank must be >= 1");
  const size_t rows = size_t(shape.n_species) * shape.n_species;
  const size_t cols = size_t(shape.n_funcs) * shape.n_basis;
  check_factor(u, rows * rank, "U (N_T^2 x rank)");
  check_factor(v, cols * rank, "V (N_f*N_b x rank)");
  RadialCoeffs rc;
  rc.format_ = RadialFormat::MF;
  rc.shape_ = shape;
  rc.mf_rank_ = rank;
  rc.factors_ = {std::move(u), std::move(v)};
  rc.contract();
  return rc;
}

RadialCoeffs RadialCoeffs::tt(RadialShape shape, std::array<int, 3> ranks,
                              std::array<std::vector<double>, 4> cores) {
  check_shape(shape);
  for (int r : ranks)
    if (r < 1) throw InputError("radial coefficients: tt ranks must be >= 1");
  const int n[4] = {shape.n_species, shape.n_species, shape.n_funcs, shape.n_basis};
  const int rk[5] = {1, ranks[0], ranks[1], ranks[2], 1};
  RadialCoeffs rc;
  rc.format_ = RadialFormat::TT;
  rc.shape_ = shape;
  rc.tt_ranks_ = ranks;
  for (int k = 0; k < 4; ++k) {
    check_factor(cores[k], size_t(rk[k]) * n[k] * rk[k + 1],
                 "tt core G" + std::to_string(k + 1) + " (" + std::to_string(rk[k]) + " x " +
                     std::to_string(n[k]) + " x " + std::to_string(rk[k + 1]) + ")");
    rc.factors_.push_back(std::move(cores[k]));
  }
  rc.contract();
  return rc;
}

std::vector<std::vector<int>> RadialCoeffs::factor_shapes() const {
  const RadialShape& s = shape_;
  switch (format_) {
    case RadialFormat::Full: return {{s.n_species, s.n_species, s.n_funcs, s.n_basis}};
    case RadialFormat::MF:
      return {{s.n_species * s.n_species, mf_rank_}, {s.n_funcs * s.n_basis, mf_rank_}};
    case RadialFormat::TT: {
      const auto& r = tt_ranks_;
      return {{1, s.n_species, r[0]}, {r[0], s.n_species, r[1]}, {r[1], s.n_funcs, r[2]},
              {r[2], s.n_basis, 1}};
    }
  }
  return {};
}

size_t RadialCoeffs::parameter_count() const {
  size_t n = 0;
  for (const auto& f : factors_) n += f.size();
  return n;
}

// Row-major product: out(m, n) = a(m, k) * b(k, n).
static void matmul(const double* a, const double* b, double* out, int m, int k, int n) {
  for (int i = 0; i < m; ++i) {
    double* o = out + size_t(i) * n;
    for (int j = 0; j < n; ++j) o[j] = 0.0;
    for (int p = 0; p < k; ++p) {
      const double aip = a[size_t(i) * k + p];
      const double* bp = b + size_t(p) * n;
      for (int j = 0; j < n; ++j) o[j] += aip * bp[j];
    }
  }
}

void RadialCoeffs::contract() {
  const RadialShape& s = shape_;
  const int pairs = s.n_species * s.n_species;
  const int cols = s.n_funcs * s.n_basis;
  switch (format_) {
    case RadialFormat::Full:
      table_ = factors_[0];
      break;
    case RadialFormat::MF: {
      // C[p, q] = sum_r U[p, r] V[q, r]
      const double* u = factors_[0].data();
      const double* v = factors_[1].data();
      const int r = mf_rank_;
      table_.assign(size_t(pairs) * cols, 0.0);
      for (int p = 0; p < pairs; ++p)
        for (int q = 0; q < cols; ++q) {
          double acc = 0.0;
          for (int k = 0; k < r; ++k) acc += u[size_t(p) * r + k] * v[size_t(q) * r + k];
          table_[size_t(p) * cols + q] = acc;
        }
      break;
    }
    case RadialFormat::TT: {
      // Left-to-right: (N_T, r1) x (r1, N_T*r2) -> (N_T^2, r2) -> x (r2, N_f*r3) -> (N_T^2 N_f, r3)
      // -> x (r3, N_b) -> C.
      const auto& r = tt_ranks_;
      std::vector<double> l2(size_t(pairs) * r[1]), l3(size_t(pairs) * s.n_funcs * r[2]);
      matmul(factors_[0].data(), factors_[1].data(), l2.data(), s.n_species, r[0],
             s.n_species * r[1]);
      matmul(l2.data(), factors_[2].data(), l3.data(), pairs, r[1], s.n_funcs * r[2]);
      table_.assign(s.full_size(), 0.0);
      matmul(l3.data(), factors_[3].data(), table_.data(), pairs * s.n_funcs, r[2], s.n_basis);
      break;
    }
  }
}

std::vector<double> RadialCoeffs::pullback(const double* dc) const {
  const RadialShape& s = shape_;
  const int nt = s.n_species, nf = s.n_funcs, nb = s.n_basis;
  const int pairs = nt * nt, cols = nf * nb;
  std::vector<double> out(parameter_count(), 0.0);
  switch (format_) {
    case RadialFormat::Full:
      out.assign(dc, dc + s.full_size());
      break;
    case RadialFormat::MF: {
      // dU = dC V, dV = dC^T U
      const int r = mf_rank_;
      const double* u = factors_[0].data();
      const double* v = factors_[1].data();
      double* du = out.data();
      double* dv = out.data() + size_t(pairs) * r;
      for (int p = 0; p < pairs; ++p)
        for (int q = 0; q < cols; ++q) {
          const double g = dc[size_t(p) * cols + q];
          if (g == 0.0) continue;
          for (int k = 0; k < r; ++k) {
            du[size_t(p) * r + k] += g * v[size_t(q) * r + k];
            dv[size_t(q) * r + k] += g * u[size_t(p) * r + k];
          }
        }
      break;
    }
    case RadialFormat::TT: {
      const int r1 = tt_ranks_[0], r2 = tt_ranks_[1], r3 = tt_ranks_[2];
      const double* g1 = factors_[0].data();  // (nt, r1)
      const double* g2 = factors_[1].data();  // (r1, nt, r2)
      const double* g3 = factors_[2].data();  // (r2, nf, r3)
      const double* g4 = factors_[3].data();  // (r3, nb)
      // Left partial products: l2 (nt*nt, r2) = G1 G2, l3 (nt*nt*nf, r3) = l2 G3.
      std::vector<double> l2(size_t(pairs) * r2), l3(size_t(pairs) * nf * r3);
      matmul(g1, g2, l2.data(), nt, r1, nt * r2);
      matmul(l2.data(), g3, l3.data(), pairs, r2, nf * r3);
      // Right partial products: q3 (r2, nf*nb) = G3 G4, q2 (r1, nt*nf*nb) = G2 q3.
      std::vector<double> q3(size_t(r2) * cols), q2(size_t(r1) * nt * cols);
      matmul(g3, g4, q3.data(), r2 * nf, r3, nb);
      matmul(g2, q3.data(), q2.data(), r1 * nt, r2, cols);
      double* d1 = out.data();
      double* d2 = d1 + size_t(nt) * r1;
      double* d3 = d2 + size_t(r1) * nt * r2;
      double* d4 = d3 + size_t(r2) * nf * r3;
      for (int a = 0; a < nt; ++a)
        for (int b = 0; b < nt; ++b)
          for (int m = 0; m < nf; ++m)
            for (int k = 0; k < nb; ++k) {
              const double g = dc[((size_t(a) * nt + b) * nf + m) * nb + k];
              if (g == 0.0) continue;
              const size_t ab = size_t(a) * nt + b;
              // dG1[a, i] += g * q2[i, b, m, k]
              for (int i = 0; i < r1; ++i)
                d1[size_t(a) * r1 + i] += g * q2[(size_t(i) * nt + b) * cols + m * nb + k];
              // dG2[i, b, j] += g * G1[a, i] * q3[j, m, k]
              for (int i = 0; i < r1; ++i) {
                const double gi = g * g1[size_t(a) * r1 + i];
                for (int j = 0; j < r2; ++j)
                  d2[(size_t(i) * nt + b) * r2 + j] += gi * q3[size_t(j) * cols + m * nb + k];
              }
              // dG3[j, m, l] += g * l2[ab, j] * G4[l, k]
              for (int j = 0; j < r2; ++j) {
                const double gj = g * l2[ab * r2 + j];
                for (int l = 0; l < r3; ++l)
                  d3[(size_t(j) * nf + m) * r3 + l] += gj * g4[size_t(l) * nb + k];
              }
              // dG4[l, k] += g * l3[ab, m, l]
              for (int l = 0; l < r3; ++l)
                d4[size_t(l) * nb + k] += g * l3[(ab * nf + m) * r3 + l];
            }
      break;
    }
  }
  return out;
}

}  // namespace mtp
