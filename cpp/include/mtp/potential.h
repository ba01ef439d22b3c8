// A Moment Tensor Potential: immutable once constructed (all checks happen here).
//   V_i = species_coeffs[z_i] + sum_alpha moment_coeffs[alpha] * B_alpha(i)
#pragma once
#include <string>
#include <vector>

#include "mtp/moment_program.h"
#include "mtp/radial_basis.h"
#include "mtp/radial_coeffs.h"

namespace mtp {

class Potential {
 public:
  Potential(RadialBasis basis, RadialCoeffs radial, MomentProgram program,
            std::vector<double> species_coeffs, std::vector<double> moment_coeffs,
            std::vector<std::string> species_names = {}, std::string name = "MTP1m",
            bool trained = true);

  const RadialBasis& radial_basis() const { return basis_; }
  const RadialCoeffs& radial_coeffs() const { return radial_; }
  const MomentProgram& program() const { return program_; }
  const std::vector<double>& species_coeffs() const { return species_coeffs_; }  // (N_T)
  const std::vector<double>& moment_coeffs() const { return moment_coeffs_; }    // (N_alpha)
  const std::vector<std::string>& species_names() const { return species_names_; }  // or empty
  const std::string& name() const { return name_; }
  bool trained() const { return trained_; }

  int n_species() const { return radial_.shape().n_species; }
  int n_funcs() const { return radial_.shape().n_funcs; }
  int n_basis_functions() const { return int(program_.scalar_map.size()); }
  double cutoff() const { return basis_.max_dist; }

 private:
  RadialBasis basis_;
  RadialCoeffs radial_;
  MomentProgram program_;
  std::vector<double> species_coeffs_;
  std::vector<double> moment_coeffs_;
  std::vector<std::string> species_names_;
  std::string name_;
  bool trained_;
};

}  // namespace mtp
