#include "mtp/extrapolation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "mtp/errors.h"
#include "simd4.h"

namespace mtp {

std::vector<double> parameter_checksums(const Potential& pot) {
  std::vector<double> theta(pot.species_coeffs());
  theta.insert(theta.end(), pot.moment_coeffs().begin(), pot.moment_coeffs().end());
  const auto& c = pot.radial_coeffs().pair_table();
  theta.insert(theta.end(), c.begin(), c.end());
  double s = 0.0, s2 = 0.0, sk = 0.0;
  const double n = double(theta.size());
  for (size_t k = 0; k < theta.size(); ++k) {
    s += theta[k];
    s2 += theta[k] * theta[k];
    sk += double(k + 1) * theta[k] / n;
  }
  return {s, s2, sk};
}

ExtrapolationGrader::ExtrapolationGrader(const std::string& path, const Potential& pot)
    : n_species_(pot.n_species()), n_moment_(pot.n_basis_functions()),
      n_pair_block_(int(pot.radial_coeffs().pair_table().size()) / pot.n_species()) {
  std::ifstream in(path);
  if (!in) throw FileError(path, 0, "cannot open the active-set file");
  std::string line;
  int lineno = 0;
  auto next = [&](const char* what) {
    if (!std::getline(in, line)) throw FileError(path, lineno, std::string("ends before ") + what);
    ++lineno;
    return std::istringstream(line);
  };
  if (next("the header").str().rfind("mtp-lowrank active set 1", 0) != 0)
    throw FileError(path, 1, "not an mtp-lowrank active-set file for LAMMPS (write one with "
                             "`mtp-lowrank grade ... --lammps FILE`)");
  std::string key, mode;
  next("mode") >> key >> mode;
  if (key != "mode" || (mode != "configuration" && mode != "neighbourhood"))
    throw FileError(path, lineno, "mode must be configuration or neighbourhood, got '" + mode + "'");
  neighbourhood_ = mode == "neighbourhood";
  next("rows") >> key >> rows_;
  next("columns") >> key >> cols_;
  const int expected = n_species_ + n_moment_ + int(pot.radial_coeffs().pair_table().size());
  if (rows_ != expected)
    throw FileError(path, lineno - 1, "has " + std::to_string(rows_) + " parameter rows, the potential " +
                                          std::to_string(expected) + ": it belongs to another potential");
  double sums[3];
  next("checksums") >> key >> sums[0] >> sums[1] >> sums[2];
  const std::vector<double> mine = parameter_checksums(pot);
  for (int q = 0; q < 3; ++q)
    if (std::abs(mine[q] - sums[q]) > 1e-9 * (std::abs(sums[q]) + 1e-300) + 1e-12)
      throw FileError(path, lineno, "was computed for a different potential (parameter checksums differ): "
                                    "recompute it for this one");
  const int n_chunks = (cols_ + kChunk - 1) / kChunk;  // zero-padded columns add |0| to the maximum
  m_.assign(size_t(n_chunks) * rows_ * kChunk, 0.0);
  for (int r = 0; r < rows_; ++r) {
    std::istringstream row = next("the matrix");
    for (int c = 0; c < cols_; ++c)
      if (!(row >> m_[(size_t(c / kChunk) * rows_ + r) * kChunk + c % kChunk]))
        throw FileError(path, lineno, "matrix row " + std::to_string(r) + " has fewer than " +
                                          std::to_string(cols_) + " numbers");
  }
}

namespace {
using simd::load4;
using simd::v4;

// max_c |sum_e w[e] M[row[e], c]| over one chunk of 32 columns, chunk (rows, 32): the chunk's
// sums stay in registers while the rows stream past (an axpy per row would load and store the
// sums for every row).
double chunk_max(const double* chunk, const int* row, const double* w, int n) {
  v4 acc[ExtrapolationGrader::kChunk / 4];
  for (v4& a : acc) a = v4{0, 0, 0, 0};
  for (int e = 0; e < n; ++e) {
    const double* mr = chunk + size_t(row[e]) * ExtrapolationGrader::kChunk;
    const double we = w[e];
    for (int v = 0; v < ExtrapolationGrader::kChunk / 4; ++v) acc[v] += we * load4(mr + 4 * v);
  }
  double gmax = 0.0;
  for (const v4& a : acc)
    for (int k = 0; k < 4; ++k) gmax = std::max(gmax, std::abs(a[k]));
  return gmax;
}
}  // namespace

void ExtrapolationGrader::gather(const double* g, int n, int row0, Terms& t) const {
  for (int k = 0; k < n; ++k)
    if (g[k] != 0.0) {
      t.row.push_back(row0 + k);
      t.weight.push_back(g[k]);
    }
}

double ExtrapolationGrader::largest_product(const Terms& t) const {
  double gmax = 0.0;
  for (size_t c = 0; c < m_.size(); c += size_t(rows_) * kChunk)
    gmax = std::max(gmax, chunk_max(m_.data() + c, t.row.data(), t.weight.data(), int(t.row.size())));
  return gmax;
}

double ExtrapolationGrader::grade(const double* species, const double* moment, const double* radial,
                                  Terms& terms) const {
  terms.row.clear();
  terms.weight.clear();
  gather(species, n_species_, 0, terms);
  gather(moment, n_moment_, n_species_, terms);
  gather(radial, rows_ - n_species_ - n_moment_, n_species_ + n_moment_, terms);
  return largest_product(terms);
}

double ExtrapolationGrader::site_grade(int type, const SiteGradient& g, Terms& terms) const {
  terms.row.clear();
  terms.weight.clear();
  gather(g.species.data() + type, 1, type, terms);
  gather(g.moment.data(), n_moment_, n_species_, terms);
  const int block = type * n_pair_block_;
  gather(g.radial.data() + block, n_pair_block_, n_species_ + n_moment_ + block, terms);
  return largest_product(terms);
}

}  // namespace mtp
