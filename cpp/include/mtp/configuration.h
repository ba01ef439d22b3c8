// Whole-configuration evaluation: neighbour list, sites (OpenMP over atoms), forces, virial and
// parameter gradients. Owns all buffers; reuse one Evaluator for many configurations.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "mtp/neighbor_list.h"
#include "mtp/potential.h"
#include "mtp/site_evaluator.h"

namespace mtp {

struct EvalRequest {
  bool forces = true;
  bool site_virials = false;   // per-atom virials (half of each pair term to each atom)
  bool param_gradient = false;  // dE/d(stored parameters)
  bool site_param_gradients = false;  // dV_i/d(parameters) per atom, full representation
  double min_distance = 0.1;   // closer atoms are reported as overlapping (Angstrom)
};

struct EvalResult {
  double energy = 0.0;
  std::vector<double> site_energies;   // (N)
  std::vector<double> forces;          // (N, 3) = -dE/dr_i
  std::array<double, 9> virial{};      // sum over atoms r (x) F: MLIP's PlusStress, LAMMPS'
                                       // virial; ASE stress = -virial / volume. Row-major.
                                       // Computed with forces or site virials only.
  std::vector<double> site_virials;    // (N, 9), same convention
  // dE/d(parameters): species (N_T), moment (N_alpha), radial in the stored representation
  // (factors concatenated as RadialCoeffs::factors()).
  std::vector<double> grad_species, grad_moment, grad_radial;
  // (N, N_T + N_alpha + N_T N_T N_f N_b): dV_i/d(species, moment, full radial C) per atom, the
  // rows of neighbourhood-mode active learning.
  std::vector<double> site_gradients;
  ShortRangeTally short_range;  // atoms with a neighbour closer than the potential's min_dist
};

class Evaluator {
 public:
  // n_threads <= 0: OpenMP's default.
  explicit Evaluator(std::shared_ptr<const Potential> pot, int n_threads = 0);

  // positions (N, 3), types (N) in 0..N_T-1, cell (3, 3) rows = lattice vectors, pbc[3].
  EvalResult evaluate(int n, const double* positions, const int* types, const double* cell,
                      const bool* pbc, const EvalRequest& request);

  // After evaluate() on the same configuration (its neighbour list is reused): accumulates
  // G = dE/d(parameters) into `grad` and its directional derivative D_t G into `dgrad` (full
  // representation) along the pair tangents t_ij = v_j - v_i + S r_ij; v (N, 3) atom
  // displacements or nullptr, S (3, 3) row-major (t_b = sum_a S[b][a] r_a) or nullptr.
  void parameter_tangent(const int* types, const double* v, const double* S, SiteGradient& grad,
                         SiteGradient& dgrad);

  const Potential& potential() const { return *pot_; }
  const NeighborList& neighbor_list() const { return nl_; }

 private:
  std::shared_ptr<const Potential> pot_;
  int n_threads_;
  NeighborList nl_;
  std::vector<std::unique_ptr<SiteEvaluator>> sites_;  // one per thread
  std::vector<SiteGradient> grads_;                      // one per thread
  std::vector<int> ntypes_;                              // (n_pairs)
  std::vector<double> dv_drij_;                          // (n_pairs, 3)
  std::vector<double> tangent_;                          // (n_pairs, 3)
  std::vector<SiteGradient> dgrads_;                     // one per thread
  std::vector<SiteGradient> site_grads_;                 // one per thread, reset per atom
};

}  // namespace mtp
