// Extrapolation grade against an active set (active learning; Podryabinkin & Shapeev 2017):
// gamma = max_j |(g M)_j|, where g = dE/dtheta of a whole configuration (configuration mode) or
// g = dV_i/dtheta of one atom's neighbourhood (neighbourhood mode), in the full representation
// (species_coeffs, moment_coeffs, C[N_T, N_T, N_f, N_b]), and M (rows x cols) =
// [I + tangent basis Q] P A^-1 is written by the Python side (ActiveSet.save_for_lammps), so
// MF/TT potentials need nothing here beyond dE/dC.
#pragma once
#include <string>
#include <vector>

#include "mtp/potential.h"
#include "mtp/site_evaluator.h"

namespace mtp {

class ExtrapolationGrader {
 public:
  // Reads the file and checks it was written for `pot` (parameter checksums); throws FileError.
  ExtrapolationGrader(const std::string& path, const Potential& pot);
  // The nonzero entries of a gradient: rows of M and their weights (caller-owned scratch,
  // grown, reused).
  struct Terms {
    std::vector<int> row;
    std::vector<double> weight;
  };
  // g: the configuration's dE/dtheta summed over its atoms (SiteGradient layout).
  double grade(const double* species, const double* moment, const double* radial, Terms& scratch) const;
  // Grade of one neighbourhood of an atom of species `type`, g = dV_i/dtheta: its radial part
  // is zero outside C[type, :, :, :], so only 1 + N_alpha + N_T N_f N_b rows of M are read.
  double site_grade(int type, const SiteGradient& g, Terms& scratch) const;
  static constexpr int kChunk = 32;  // columns summed in registers at once
  int rows() const { return rows_; }
  int columns() const { return cols_; }
  // true: the rows are neighbourhoods' (per-atom grades); false: whole configurations'.
  bool neighbourhood() const { return neighbourhood_; }

 private:
  // Appends the nonzero entries of g (n of them) as rows row0 + k of M.
  void gather(const double* g, int n, int row0, Terms& t) const;
  // max_c |sum_e weight[e] M[row[e], c]|.
  double largest_product(const Terms& t) const;
  int rows_ = 0, cols_ = 0, n_species_ = 0, n_moment_ = 0, n_pair_block_ = 0;
  bool neighbourhood_ = false;
  // M in column chunks, each chunk's rows contiguous (streamed in order when grading):
  // (ceil(cols / kChunk), rows, kChunk), the last chunk zero-padded.
  std::vector<double> m_;
};

// The checksums of a potential's full-representation parameters [species, moment, C]:
// (sum, sum of squares, sum of (k+1) * theta_k / n); the Python side writes the same.
std::vector<double> parameter_checksums(const Potential& pot);

}  // namespace mtp
