// A Moment Tensor Potential: immutable once constructed (all checks happen here).
//   V_i = species_coeffs[z_i] + sum_alpha moment_coeffs[alpha] * B_alpha(i)
//         [+ 1/2 sum_j E_core(r_ij) with an optional repulsive core, repulsive_core.h]
#pragma once
#include <string>
#include <vector>

#include "mtp/moment_program.h"
#include "mtp/radial_basis.h"
#include "mtp/radial_coeffs.h"
#include "mtp/repulsive_core.h"

namespace mtp {

// What a potential file says about a potential besides its parameters.
struct PotentialLabels {
  std::string name = "MTP1m";
  std::vector<std::string> species_names;  // (N_T) chemical symbols, or empty (MLIP files)
  // (N_T) the MLIP type number of each species: the labels of the radial_coeffs blocks, which
  // `mlp train` takes from the training .cfg (often 1, 2, ...). Empty means 0..N_T-1.
  std::vector<int> mlip_types;
  // MLIP-3's active-learning block (`#MVS_v1.1` line and the binary data after it), verbatim,
  // kept only while the parameters it was computed for are unchanged; or empty.
  std::string mlip_selection_state;
};

class Potential {
 public:
  Potential(RadialBasis basis, RadialCoeffs radial, MomentProgram program,
            std::vector<double> species_coeffs, std::vector<double> moment_coeffs,
            PotentialLabels labels = {}, bool trained = true, RepulsiveCore core = {});

  const RadialBasis& radial_basis() const { return basis_; }
  const RepulsiveCore& repulsive_core() const { return core_; }
  const RadialCoeffs& radial_coeffs() const { return radial_; }
  const MomentProgram& program() const { return program_; }
  const std::vector<double>& species_coeffs() const { return species_coeffs_; }  // (N_T)
  const std::vector<double>& moment_coeffs() const { return moment_coeffs_; }    // (N_alpha)
  const std::vector<std::string>& species_names() const { return labels_.species_names; }
  const std::vector<int>& mlip_types() const { return labels_.mlip_types; }  // (N_T), never empty
  bool default_mlip_types() const;  // 0..N_T-1
  const std::string& mlip_selection_state() const { return labels_.mlip_selection_state; }
  const PotentialLabels& labels() const { return labels_; }
  const std::string& name() const { return labels_.name; }
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
  PotentialLabels labels_;
  bool trained_;
  RepulsiveCore core_;
};

}  // namespace mtp
