#include "mtp/extrapolation.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "mtp/errors.h"

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
  m_.resize(size_t(rows_) * cols_);
  for (int r = 0; r < rows_; ++r) {
    std::istringstream row = next("the matrix");
    for (int c = 0; c < cols_; ++c)
      if (!(row >> m_[size_t(r) * cols_ + c]))
        throw FileError(path, lineno, "matrix row " + std::to_string(r) + " has fewer than " +
                                          std::to_string(cols_) + " numbers");
  }
}

void ExtrapolationGrader::accumulate(const double* g, int n, int row0, double* out) const {
  for (int k = 0; k < n; ++k) {
    if (g[k] == 0.0) continue;
    const double* mr = &m_[size_t(row0 + k) * cols_];
    for (int c = 0; c < cols_; ++c) out[c] += g[k] * mr[c];
  }
}

static double largest_magnitude(const double* v, int n) {
  double gmax = 0.0;
  for (int c = 0; c < n; ++c) gmax = std::max(gmax, std::abs(v[c]));
  return gmax;
}

double ExtrapolationGrader::grade(const double* species, const double* moment, const double* radial,
                                  double* scratch) const {
  std::fill(scratch, scratch + cols_, 0.0);
  accumulate(species, n_species_, 0, scratch);
  accumulate(moment, n_moment_, n_species_, scratch);
  accumulate(radial, rows_ - n_species_ - n_moment_, n_species_ + n_moment_, scratch);
  return largest_magnitude(scratch, cols_);
}

SiteGrades::SiteGrades(const ExtrapolationGrader& grader, int n_species, int capacity)
    : grader_(grader),
      capacity_(capacity),
      site_rows_(1 + grader.n_moment_ + grader.n_pair_block_),
      count_(n_species, 0),
      index_(size_t(n_species) * capacity),
      g_(size_t(n_species) * capacity * site_rows_),
      out_(size_t(capacity) * grader.cols_) {}

void SiteGrades::add(int type, const SiteGradient& g, int index, double* grades) {
  const int k = count_[type]++;
  index_[size_t(type) * capacity_ + k] = index;
  double* row = &g_[(size_t(type) * capacity_ + k) * site_rows_];
  row[0] = g.species[type];
  std::copy(g.moment.begin(), g.moment.end(), row + 1);
  const double* block = g.radial.data() + size_t(type) * grader_.n_pair_block_;
  std::copy(block, block + grader_.n_pair_block_, row + 1 + grader_.n_moment_);
  if (count_[type] == capacity_) grade_batch(type, grades);
}

void SiteGrades::flush(double* grades) {
  for (int t = 0; t < int(count_.size()); ++t)
    if (count_[t]) grade_batch(t, grades);
}

void SiteGrades::grade_batch(int type, double* grades) {
  const int n = count_[type], cols = grader_.cols_;
  const ExtrapolationGrader& gr = grader_;
  std::fill(out_.begin(), out_.begin() + size_t(n) * cols, 0.0);
  const double* g = &g_[size_t(type) * capacity_ * site_rows_];
  for (int r = 0; r < site_rows_; ++r) {
    // the row of M this site row multiplies
    const int m_row = r == 0 ? type
                      : r <= gr.n_moment_ ? gr.n_species_ + r - 1
                                          : gr.n_species_ + gr.n_moment_ + type * gr.n_pair_block_ + (r - 1 - gr.n_moment_);
    const double* mr = &gr.m_[size_t(m_row) * cols];
    for (int a = 0; a < n; ++a) {
      const double v = g[size_t(a) * site_rows_ + r];
      if (v == 0.0) continue;
      double* o = &out_[size_t(a) * cols];
      for (int c = 0; c < cols; ++c) o[c] += v * mr[c];
    }
  }
  for (int a = 0; a < n; ++a)
    grades[index_[size_t(type) * capacity_ + a]] = largest_magnitude(&out_[size_t(a) * cols], cols);
  count_[type] = 0;
}

}  // namespace mtp
