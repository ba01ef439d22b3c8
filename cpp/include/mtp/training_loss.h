// Training loss over a set of configurations and its gradient in the stored parameters:
//   L = sum_k [ we_k dE_k^2 + wf_k sum_i |dF_ik|^2 + wv_k sum_{6 components} dW_k^2 ]
// with dX = model - reference, W the virial (sum r (x) F, eV; MLIP's PlusStress). Weights are
// effective per configuration (normalisations such as per-atom energies are folded in by the
// caller). Force and virial terms use the adjoint (directional) form:
//   dL/dtheta = 2 we dE G - D_t G,  G = dE/dtheta,
//   t_ij = 2 wf (dF_j - dF_i) + 2 wv M r_ij,  M = dW with off-diagonals halved,
// so one configuration costs an energy+forces pass plus one tangent pass, whatever the number
// of parameters. OpenMP runs over configurations (static schedule: reproducible bit for bit).
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "mtp/potential.h"

namespace mtp {

struct TrainingConfiguration {
  int n_atoms = 0;
  std::vector<double> positions;  // (N, 3)
  std::vector<int> types;         // (N)
  std::array<double, 9> cell{};   // rows = lattice vectors
  std::array<bool, 3> pbc{{false, false, false}};
  double energy = 0.0;            // reference total energy
  std::vector<double> forces;     // (N, 3) reference, or empty
  std::array<double, 9> virial{}; // reference virial (eV)
  double w_energy = 0.0, w_forces = 0.0, w_virial = 0.0;  // effective weights (0: unused)
};

struct LossResult {
  double loss = 0.0;
  std::vector<double> grad;          // dL/d[species, moment, stored radial factors]
  std::vector<double> energy_error;  // (n_configs): model - reference total energy
  std::vector<double> force_sq;      // (n_configs): sum_i |dF_i|^2
  std::vector<double> virial_sq;     // (n_configs): sum over 6 components of dW^2
  std::vector<double> loss_terms;    // (n_configs, 3): energy, force, virial contributions
};

class TrainingSet {
 public:
  void add(TrainingConfiguration config);  // validates shapes
  size_t size() const { return configs_.size(); }
  const TrainingConfiguration& operator[](size_t k) const { return configs_[k]; }

 private:
  std::vector<TrainingConfiguration> configs_;
};

// `subset`: indices of configurations to include (empty: all).
LossResult loss_and_gradient(std::shared_ptr<const Potential> pot, const TrainingSet& data,
                             bool with_gradient, int n_threads,
                             const std::vector<int>& subset = {});

}  // namespace mtp
