// SiteEvaluator::profile: seconds per stage of an energy+forces evaluation, for the benchmark's
// breakdown (examples/benchmarks/bench_profile.py). Runs the same stages as compute_batch.
#include <algorithm>
#include <chrono>

#include "mtp/site_evaluator.h"

namespace mtp {

std::vector<std::pair<std::string, double>> SiteEvaluator::profile(int type, int n, const double* rij,
                                                                   const int* ntypes, int repeats) {
  using clock = std::chrono::steady_clock;
  std::vector<double> dv(3 * size_t(n));
  compute(type, n, rij, ntypes, dv.data(), nullptr);  // warm up
  for (Neighbourhood& h : hoods_) grow(h, (n + 3) / 4 * 4);
  const char* names[] = {"neighbours", "radial basis", "radial functions", "monomials", "basic moments",
                         "program forward", "program reverse", "reverse over neighbours", "pair derivatives"};
  double seconds[9] = {0};
  const int types[kLanes] = {type, type, type, type};
  double energies[kLanes];
  // A full batch of kLanes copies of the neighbourhood, as LAMMPS evaluates atoms: the per-atom
  // stages run kLanes times, the program once; figures are per atom.
  for (int r = 0; r < repeats; ++r) {
    auto t0 = clock::now();
    auto lap = [&](int k) {
      const auto t1 = clock::now();
      seconds[k] += std::chrono::duration<double>(t1 - t0).count();
      t0 = t1;
    };
    for (int k = 0; k < kLanes; ++k) {
      Neighbourhood& h = hoods_[k];
      gather_neighbours(h, n, rij, ntypes);
      lap(0);
      radial_basis_stage(h, type);
      lap(1);
      radial_functions_stage(h, type);
      lap(2);
      monomials_stage(h);
      lap(3);
      basic_moments_stage(h, k);
      lap(4);
    }
    program_stage(kLanes, types, energies);
    lap(5);
    reverse_program();
    lap(6);
    for (int k = 0; k < kLanes; ++k) {
      reverse_neighbours_stage(hoods_[k], k, true);
      lap(7);
      std::fill(dv.begin(), dv.end(), 0.0);
      pair_derivatives_stage(hoods_[k], dv.data());
      lap(8);
    }
  }
  std::vector<std::pair<std::string, double>> out;
  for (int k = 0; k < 9; ++k) out.emplace_back(names[k], seconds[k] / (double(repeats) * kLanes));
  return out;
}

}  // namespace mtp
