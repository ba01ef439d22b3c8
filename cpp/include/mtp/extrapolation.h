// Extrapolation grade of a whole configuration against an active set (active learning,
// configuration mode; Podryabinkin & Shapeev 2017): gamma = max_j |(g M)_j|, where g = dE/dtheta
// in the full representation (species_coeffs, moment_coeffs, C[N_T, N_T, N_f, N_b]) and
// M (rows x cols) = [I + tangent basis Q] P A^-1 is written by the Python side
// (ActiveSet.save_for_lammps), so MF/TT potentials need nothing here beyond dE/dC.
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
  // g: the configuration's dE/dtheta summed over its atoms (SiteGradient layout).
  double grade(const double* species, const double* moment, const double* radial) const;
  int rows() const { return rows_; }

 private:
  int rows_ = 0, cols_ = 0, n_species_ = 0, n_moment_ = 0;
  std::vector<double> m_;  // (rows, cols), row-major
};

// The checksums of a potential's full-representation parameters [species, moment, C]:
// (sum, sum of squares, sum of (k+1) * theta_k / n); the Python side writes the same.
std::vector<double> parameter_checksums(const Potential& pot);

}  // namespace mtp
