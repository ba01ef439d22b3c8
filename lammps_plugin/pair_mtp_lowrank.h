// pair_style mtp/lowrank: a thin LAMMPS adapter over the mtp-lowrank kernel (cpp/). It maps
// LAMMPS types to species, hands each atom's full neighbour list to mtp::SiteEvaluator,
// scatters forces (onto ghosts; newton_pair on) and tallies energy and virial. No physics here.
// Threads: comm->nthreads (`package omp N`) OpenMP threads per MPI rank, each with its own
// evaluator over a contiguous block of the neighbour list; forces and per-atom virials that
// reach atoms of other blocks (neighbours, ghosts) go to per-thread buffers summed in thread
// order afterwards, so results do not depend on scheduling.
#pragma once

#include <memory>
#include <vector>

#include "pair.h"

#include <string>

#include "mtp/extrapolation.h"
#include "mtp/site_evaluator.h"

namespace mtp {
class Potential;
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
  // `fix ID all pair N mtp/lowrank grade 1`: per-atom extrapolation grades (neighbourhood-mode
  // active set) on every Nth step, for dumps and computes ("grade_flag" is the fix's trigger).
  void *extract(const char *name, int &dim) override;
  void *extract_peratom(const char *name, int &ncol) override;

 private:
  // One atom's neighbours inside the cutoff (grown only).
  struct Neighbours {
    int i = -1, species = -1, n = 0;   // local atom, its species, neighbour count
    std::vector<double> rij, dv;       // (n, 3): r_j - r_i and dV_i/dr_ij
    std::vector<int> ntypes, jatom;    // (n)
  };
  // One thread's evaluator, scratch (grown only) and partial sums; each on its own cache lines
  // (the partial sums are written per atom: no false sharing with the next thread's state).
  struct alignas(64) ThreadState {
    std::unique_ptr<mtp::SiteEvaluator> site;
    Neighbours batch[mtp::SiteEvaluator::kLanes];  // the atoms evaluated together
    std::vector<double> f, vatom;      // (nall, 3), (nall, 6): buffers when threads > 1
    double energy = 0.0;
    double virial[6] = {0, 0, 0, 0, 0, 0};
    mtp::SiteGradient grad;            // dE/dtheta of this thread's atoms, or of one atom (per-atom grades)
    mtp::ExtrapolationGrader::Terms terms;  // nonzero entries of one gradient (grading scratch)
    ThreadState();
    ~ThreadState();
    ThreadState(ThreadState &&) noexcept;
  };
  void allocate();
  void ensure_threads(int n);
  // Atoms ilist[first..first+count-1] (count <= kLanes) evaluated as one batch.
  void sites(const int *ilist, int count, ThreadState &t, double *f, double *vatom, mtp::SiteGradient *grad);
  void gather(int i, Neighbours &nb);
  void check_short_range(ThreadState &t, int count);
  void scatter(const Neighbours &nb, double vi, ThreadState &t, double *f, double *vatom);
  void extrapolation_grade();          // after the sites of a grading step (configuration mode)
  void apply_thresholds(double grade);  // select: write the configuration; break: stop
  void write_configuration(double grade);
  std::unique_ptr<mtp::Potential> pot_;
  std::vector<ThreadState> threads_;
  std::vector<int> species_of_type_;  // (ntypes + 1): LAMMPS type -> species, -1 for NULL
  double cutoff_ = 0.0;
  bool short_range_error_ = false;  // pair_style ... short_range error
  // pair_style ... extrapolation FILE [every N] [select S] [break B] [dump FILE]
  std::string active_set_file_, dump_file_ = "extrapolative.xyz";
  int every_ = 1;
  double select_ = 2.0, break_ = 10.0;
  std::unique_ptr<mtp::ExtrapolationGrader> grader_;
  std::vector<std::string> element_of_type_;  // (ntypes + 1)
  double grade_storage_ = 0.0;
  std::vector<double> atom_grades_;  // (nmax): per-atom grades of the last grading step (neighbourhood mode)
  bool atom_grades_current_ = false;  // atom_grades_ belong to the atoms of this step
  int grade_flag_ = 0;                // set by fix pair: compute per-atom grades this step
};

}  // namespace LAMMPS_NS
