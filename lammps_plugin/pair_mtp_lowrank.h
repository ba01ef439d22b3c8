// pair_style mtp/lowrank: a thin LAMMPS adapter over the mtp-lowrank kernel (cpp/). It maps
// LAMMPS types to species, hands each atom's full neighbour list to mtp::SiteEvaluator,
// scatters forces (onto ghosts; newton_pair on) and tallies energy and virial. No physics here.
#pragma once

#include <memory>
#include <vector>

#include "pair.h"

namespace mtp {
class Potential;
class SiteEvaluator;
}  // namespace mtp

namespace LAMMPS_NS {

class PairMTPLowRank : public Pair {
 public:
  explicit PairMTPLowRank(class LAMMPS *);
  ~PairMTPLowRank() override;
  void compute(int eflag, int vflag) override;
  void settings(int narg, char **arg) override;
  void coeff(int narg, char **arg) override;
  void init_style() override;
  void setup() override;
  void finish() override;
  double init_one(int i, int j) override;
  double memory_usage() override;

 private:
  void allocate();
  std::unique_ptr<mtp::Potential> pot_;
  std::unique_ptr<mtp::SiteEvaluator> site_;
  std::vector<int> species_of_type_;  // (ntypes + 1): LAMMPS type -> species, -1 for NULL
  double cutoff_ = 0.0;
  bool short_range_error_ = false;  // pair_style ... short_range error
  // Scratch, grown only.
  std::vector<double> rij_, dv_;  // (n, 3)
  std::vector<int> ntypes_, jatom_;  // (n)
};

}  // namespace LAMMPS_NS
