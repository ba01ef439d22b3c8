#include "pair_mtp_lowrank.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <string>

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "lammps.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include "mtp/errors.h"
#include "mtp/extrapolation.h"
#include "mtp/parallel.h"
#include "mtp/potential.h"
#include "mtp/potential_file.h"
#include "mtp/site_evaluator.h"

using namespace LAMMPS_NS;

PairMTPLowRank::PairMTPLowRank(LAMMPS *lmp) : Pair(lmp) {
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  centroidstressflag = CENTROID_NOTAVAIL;
  no_virial_fdotr_compute = 1;  // virial tallied explicitly, pair by pair
}

PairMTPLowRank::ThreadState::ThreadState() = default;
PairMTPLowRank::ThreadState::~ThreadState() = default;
PairMTPLowRank::ThreadState::ThreadState(ThreadState &&) noexcept = default;

PairMTPLowRank::~PairMTPLowRank() {
  pvector = nullptr;  // points at grade_storage_
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairMTPLowRank::allocate() {
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  for (int i = 1; i <= n; ++i)
    for (int j = i; j <= n; ++j) setflag[i][j] = 0;
}

// pair_style mtp/lowrank [short_range warn|error]
//   warn (default): count the atoms with a neighbour closer than the potential's min_dist (where
//   its basis is extrapolated) and report the count once at the end of each run; error: stop at
//   the first such atom, naming it.
void PairMTPLowRank::settings(int narg, char **arg) {
  short_range_error_ = false;
  active_set_file_.clear();
  for (int i = 0; i < narg; i += 2) {
    const std::string key = arg[i];
    if (i + 1 >= narg)
      error->all(FLERR, "pair_style mtp/lowrank: '{}' needs a value", key);
    const std::string v = arg[i + 1];
    if (key == "short_range") {
      if (v != "warn" && v != "error")
        error->all(FLERR, "pair_style mtp/lowrank: short_range must be warn or error, got '{}'", v);
      short_range_error_ = v == "error";
    } else if (key == "extrapolation") {
      active_set_file_ = v;
    } else if (key == "every") {
      every_ = utils::inumeric(FLERR, v, false, lmp);
      if (every_ < 1) error->all(FLERR, "pair_style mtp/lowrank: every must be >= 1");
    } else if (key == "select") {
      select_ = utils::numeric(FLERR, v, false, lmp);
    } else if (key == "break") {
      break_ = utils::numeric(FLERR, v, false, lmp);
    } else if (key == "dump") {
      dump_file_ = v;
    } else {
      error->all(FLERR, "Illegal pair_style mtp/lowrank command: unknown keyword '{}' (short_range, extrapolation, "
                 "every, select, break, dump)", key);
    }
  }
  if (active_set_file_.empty() && (every_ != 1 || select_ != 2.0 || break_ != 10.0))
    error->all(FLERR, "pair_style mtp/lowrank: every/select/break need 'extrapolation <active-set file>'");
  if (!(select_ <= break_)) error->all(FLERR, "pair_style mtp/lowrank: select must not exceed break");
}

// pair_coeff * * <file> <element for type 1> ... <element for type N>   (NULL: not handled)
void PairMTPLowRank::coeff(int narg, char **arg) {
  const int ntypes = atom->ntypes;
  if (!allocated) allocate();
  if (narg != 3 + ntypes)
    error->all(FLERR, "pair_coeff * * <potential file> needs {} element names (one per atom type), got {}",
               ntypes, narg - 3);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_style mtp/lowrank needs pair_coeff * * <file> <elements>");
  try {
    pot_ = std::make_unique<mtp::Potential>(mtp::read_potential(arg[2]));
  } catch (const std::exception &e) {
    error->all(FLERR, "pair_style mtp/lowrank: {}", e.what());
  }
  if (!pot_->trained()) error->all(FLERR, "pair_style mtp/lowrank: {} is an untrained potential", arg[2]);
  const std::vector<std::string> &names = pot_->species_names();
  std::vector<std::string> order;  // species order for files that do not name their species
  species_of_type_.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; ++t) {
    const std::string el = arg[2 + t];
    // NULL: this style computes nothing for the type; alone it would leave the type without any
    // interaction (force->pair is this style unless it is a sub-style of pair_style hybrid)
    if (el == "NULL" && force->pair == this)
      error->all(FLERR, "pair_style mtp/lowrank: atom type {} is NULL in pair_coeff; NULL needs pair_style "
                 "hybrid or hybrid/overlay with another style for that type", t);
    if (el == "NULL") continue;
    int s = -1;
    if (!names.empty()) {
      for (size_t k = 0; k < names.size(); ++k)
        if (names[k] == el) s = int(k);
      if (s < 0) {
        std::string known;
        for (const auto &n : names) known += " " + n;
        error->all(FLERR, "pair_style mtp/lowrank: element {} is not in {} (its species:{})", el, arg[2], known);
      }
    } else {
      for (size_t k = 0; k < order.size(); ++k)
        if (order[k] == el) s = int(k);
      if (s >= 0)  // two atom types, one element: which species each means cannot be known
        error->all(FLERR,
                   "pair_style mtp/lowrank: {} does not name its species, so element {} given for two atom "
                   "types cannot be mapped; record the species in the file "
                   "(mtp-lowrank convert {} named.mtp --species <element of species 0> <of species 1> ...) "
                   "and use named.mtp",
                   arg[2], el, arg[2]);
      if (s < 0) {
        s = int(order.size());
        order.push_back(el);
      }
      if (s >= pot_->n_species())
        error->all(FLERR, "pair_style mtp/lowrank: {} has {} species but pair_coeff names more distinct elements",
                   arg[2], pot_->n_species());
    }
    species_of_type_[t] = s;
  }
  if (names.empty() && comm->me == 0) {
    std::string msg = "mtp/lowrank: " + std::string(arg[2]) + " does not name its species; mapped by order:";
    for (size_t k = 0; k < order.size(); ++k) msg += " " + order[k] + "=" + std::to_string(k);
    utils::logmesg(lmp, msg + "\n");
  }
  threads_.clear();  // evaluators belong to the potential they were made for
  element_of_type_.assign(ntypes + 1, "");
  for (int t = 1; t <= ntypes; ++t) element_of_type_[t] = arg[2 + t];
  grader_.reset();
  if (!active_set_file_.empty()) {
    try {
      grader_ = std::make_unique<mtp::ExtrapolationGrader>(active_set_file_, *pot_);
    } catch (const std::exception &e) {
      error->all(FLERR, "pair_style mtp/lowrank extrapolation: {}", e.what());
    }
    nextra = 1;
    pvector = &grade_storage_;  // compute pair mtp/lowrank: c_ID[1] is the last grade
    if (comm->me == 0)
      utils::logmesg(lmp, "mtp/lowrank: extrapolation grade every {} steps from {} (select {}, break {}; "
                     "selected configurations to {})\n", every_, active_set_file_, select_, break_, dump_file_);
  }  cutoff_ = pot_->cutoff();
  for (int i = 1; i <= ntypes; ++i)
    for (int j = i; j <= ntypes; ++j) setflag[i][j] = (species_of_type_[i] >= 0 && species_of_type_[j] >= 0) ? 1 : 0;
}

void PairMTPLowRank::init_style() {
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair_style mtp/lowrank requires 'units metal' (energies in eV, lengths in Angstrom)");
  if (force->newton_pair == 0) error->all(FLERR, "pair_style mtp/lowrank requires newton pair on");
  if (!pot_) error->all(FLERR, "pair_style mtp/lowrank: no pair_coeff given");
  // With comm_style brick LAMMPS makes as many periodic images as the cutoff needs, even for
  // boxes smaller than it; comm_style tiled cannot, so refuse with the numbers and the remedy.
  if (comm->style == Comm::TILED) {
    const char *axis = "xyz";
    for (int d = 0; d < 3; ++d)
      if (domain->periodicity[d] && cutoff_ + neighbor->skin > domain->prd[d])
        error->all(FLERR,
                   "pair_style mtp/lowrank: cutoff {} + neighbor skin {} exceeds the periodic box length {} "
                   "along {}, which comm_style tiled cannot cover: use comm_style brick or a larger box",
                   cutoff_, neighbor->skin, domain->prd[d], axis[d]);
  }
  neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairMTPLowRank::init_one(int i, int j) {
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  return cutoff_;
}

double PairMTPLowRank::memory_usage() {
  double bytes = Pair::memory_usage();
  bytes += double(species_of_type_.capacity()) * sizeof(int);
  for (const ThreadState &t : threads_) {
    bytes += double(t.f.capacity() + t.vatom.capacity()) * sizeof(double);
    for (const Neighbours &nb : t.batch)
      bytes += double(nb.rij.capacity() + nb.dv.capacity()) * sizeof(double) +
               double(nb.ntypes.capacity() + nb.jatom.capacity()) * sizeof(int);
    if (t.site) bytes += double(t.site->memory_bytes());
  }
  if (pot_) bytes += double(pot_->radial_coeffs().pair_table().size()) * sizeof(double);
  return bytes;
}

void PairMTPLowRank::setup() {
  for (ThreadState &t : threads_) t.site->take_short_range();  // count per run
}

// End of a run: one line with the atoms that had a neighbour closer than min_dist.
void PairMTPLowRank::finish() {
  if (threads_.empty()) return;
  mtp::ShortRangeTally t;
  for (ThreadState &th : threads_) t.add(th.site->take_short_range());
  double sites = 0.0, closest = 0.0, mine = double(t.sites);
  MPI_Allreduce(&mine, &sites, 1, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(&t.closest, &closest, 1, MPI_DOUBLE, MPI_MIN, world);
  if (sites > 0 && comm->me == 0)
    utils::logmesg(lmp,
                   "WARNING: pair_style mtp/lowrank: {:.0f} atom evaluations (atoms x steps) had a neighbour "
                   "closer than the potential's min_dist {} A (closest {:.4f} A): the potential is "
                   "extrapolated and unreliable there; 'pair_style mtp/lowrank short_range error' stops at "
                   "the first\n",
                   sites, pot_->radial_basis().min_dist, closest);
}

void PairMTPLowRank::ensure_threads(int n) {
  if (int(threads_.size()) == n) return;
  threads_.clear();
  threads_.resize(n);
  for (ThreadState &t : threads_) t.site = std::make_unique<mtp::SiteEvaluator>(*pot_);
}

void PairMTPLowRank::compute(int eflag, int vflag) {
  ev_init(eflag, vflag);
  const int n_threads = std::max(1, comm->nthreads);
  ensure_threads(n_threads);
  const size_t nall = size_t(atom->nlocal) + atom->nghost;
  for (ThreadState &t : threads_) {
    t.energy = 0.0;
    std::fill(t.virial, t.virial + 6, 0.0);
    if (n_threads > 1) {  // grown only; zeroed over the atoms of this step
      if (t.f.size() < 3 * nall) t.f.resize(3 * nall);
      std::fill(t.f.begin(), t.f.begin() + 3 * nall, 0.0);
      if (vflag_atom) {
        if (t.vatom.size() < 6 * nall) t.vatom.resize(6 * nall);
        std::fill(t.vatom.begin(), t.vatom.begin() + 6 * nall, 0.0);
      }
    }
  }
  // Grading steps: every `every` steps, and when fix pair asks for per-atom grades.
  const bool grading = grader_ && (update->ntimestep % every_ == 0 || grade_flag_);
  const bool per_atom = grading && grader_->neighbourhood();
  if (grading)
    for (ThreadState &t : threads_) t.grad.reset(*pot_);
  if (per_atom) {
    if (atom_grades_.size() < size_t(atom->nmax)) atom_grades_.resize(atom->nmax);
    std::fill(atom_grades_.begin(), atom_grades_.begin() + atom->nlocal, 0.0);
  }
  double *f = &atom->f[0][0];  // (nmax, 3), contiguous
  double *va = vflag_atom ? &vatom[0][0] : nullptr;
  const int *ilist = list->ilist;
  // Atoms in batches of kLanes (one per thread step); per-atom grades need one atom at a time.
  const int width = per_atom ? 1 : mtp::SiteEvaluator::kLanes;
  const int n_batches = (list->inum + width - 1) / width;
  try {
    mtp::parallel_for(
        n_batches, n_threads, mtp::Schedule::Static, [](int) { return std::string(); },  // sites() names the atom
        [&](int c, int tid) {
          ThreadState &t = threads_[tid];
          const int first = c * width, count = std::min(width, list->inum - first);
          if (per_atom) t.grad.reset(*pot_);  // this atom's dV_i/dtheta alone
          sites(ilist + first, count, t, n_threads > 1 ? t.f.data() : f, n_threads > 1 ? t.vatom.data() : va,
                grading ? &t.grad : nullptr);
          const int i = ilist[first], si = species_of_type_[atom->type[i]];
          if (per_atom && si >= 0) atom_grades_[i] = grader_->site_grade(si, t.grad, t.terms);
        });
  } catch (const std::exception &e) {
    error->one(FLERR, "pair_style mtp/lowrank: {}", e.what());
  }
  atom_grades_current_ = per_atom;
  // Partial sums in thread order: the same result for any scheduling.
  for (const ThreadState &t : threads_) {
    if (eflag_global) eng_vdwl += t.energy;
    if (vflag_global)
      for (int k = 0; k < 6; ++k) virial[k] += t.virial[k];
    if (n_threads == 1) continue;
    for (size_t q = 0; q < 3 * nall; ++q) f[q] += t.f[q];
    if (vflag_atom)
      for (size_t q = 0; q < 6 * nall; ++q) va[q] += t.vatom[q];
  }
  if (grading) extrapolation_grade();
}

// The grade of this step: configuration mode, of dE/dtheta summed over threads and ranks;
// neighbourhood mode, the largest atom grade over the ranks. Then the thresholds.
void PairMTPLowRank::extrapolation_grade() {
  double grade = 0.0;
  if (grader_->neighbourhood()) {
    double mine = 0.0;
    for (int i = 0; i < atom->nlocal; ++i) mine = std::max(mine, atom_grades_[i]);
    MPI_Allreduce(&mine, &grade, 1, MPI_DOUBLE, MPI_MAX, world);
  } else {
    mtp::SiteGradient &g = threads_[0].grad;
    for (size_t t = 1; t < threads_.size(); ++t) g.add(threads_[t].grad);
    std::vector<double> local;
    local.insert(local.end(), g.species.begin(), g.species.end());
    local.insert(local.end(), g.moment.begin(), g.moment.end());
    local.insert(local.end(), g.radial.begin(), g.radial.end());
    std::vector<double> total(local.size());
    MPI_Allreduce(local.data(), total.data(), int(local.size()), MPI_DOUBLE, MPI_SUM, world);
    const size_t ns = g.species.size(), nm = g.moment.size();
    grade = grader_->grade(total.data(), total.data() + ns, total.data() + ns + nm, threads_[0].terms);
  }
  // compute pair sums pvector over ranks (it is meant for partial sums): rank 0 holds it
  grade_storage_ = comm->me == 0 ? grade : 0.0;
  apply_thresholds(grade);
}

// Above `select` the configuration is appended to the dump file; above `break` the run stops.
void PairMTPLowRank::apply_thresholds(double grade) {
  if (grade > select_) write_configuration(grade);
  if (grade > break_)
    error->all(FLERR, "pair_style mtp/lowrank: extrapolation grade {:.4g} at step {} is above break {}: the "
               "potential is far outside its training data (configuration appended to {})",
               grade, update->ntimestep, break_, dump_file_);
}

void *PairMTPLowRank::extract(const char *name, int &dim) {
  dim = 0;
  if (strcmp(name, "grade_flag") != 0) return nullptr;
  if (!grader_ || !grader_->neighbourhood())
    error->all(FLERR, "pair_style mtp/lowrank: per-atom grades need 'pair_style mtp/lowrank extrapolation FILE' "
               "with a neighbourhood-mode active set (mtp-lowrank grade POT --fit DATA --mode neighbourhood "
               "--lammps FILE){}", grader_ ? ": " + active_set_file_ + " is configuration mode" : "");
  return &grade_flag_;
}

void *PairMTPLowRank::extract_peratom(const char *name, int &ncol) {
  ncol = 0;
  if (strcmp(name, "grade") != 0) return nullptr;
  int dim = 0;
  extract("grade_flag", dim);  // the same checks and message
  if (atom_grades_.size() < size_t(atom->nmax)) atom_grades_.resize(atom->nmax, 0.0);
  return atom_grades_.data();
}

// Appends the configuration (element names, positions, per-atom grades when there are, cell,
// grade, step) to dump_file_ as extended XYZ, gathered on rank 0.
void PairMTPLowRank::write_configuration(double grade) {
  const int nlocal = atom->nlocal;
  constexpr int W = 6;  // tag, type, x, y, z, atom grade
  std::vector<double> mine(W * size_t(nlocal));
  for (int i = 0; i < nlocal; ++i) {
    double *row = &mine[W * size_t(i)];
    row[0] = double(atom->tag[i]);
    row[1] = double(atom->type[i]);
    row[2] = atom->x[i][0];
    row[3] = atom->x[i][1];
    row[4] = atom->x[i][2];
    row[5] = atom_grades_current_ ? atom_grades_[i] : 0.0;
  }
  int count = int(mine.size());
  std::vector<int> counts(comm->nprocs), displs(comm->nprocs, 0);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  std::vector<double> all;
  if (comm->me == 0) {
    for (int r = 1; r < comm->nprocs; ++r) displs[r] = displs[r - 1] + counts[r - 1];
    all.resize(size_t(displs.back()) + counts.back());
  }
  MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0, world);
  if (comm->me != 0) return;
  const size_t n = all.size() / W;
  std::vector<size_t> order(n);
  for (size_t k = 0; k < n; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return all[W * a] < all[W * b]; });
  std::ofstream out(dump_file_, std::ios::app);
  if (!out) error->one(FLERR, "pair_style mtp/lowrank: cannot write {}", dump_file_);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "Lattice=\"%.10g 0 0 %.10g %.10g 0 %.10g %.10g %.10g\" Properties=species:S:1:pos:R:3%s "
                "grade=%.8g step=%lld pbc=\"%c %c %c\"",
                domain->xprd, domain->xy, domain->yprd, domain->xz, domain->yz, domain->zprd,
                atom_grades_current_ ? ":grade:R:1" : "", grade,
                (long long)update->ntimestep, domain->xperiodic ? 'T' : 'F', domain->yperiodic ? 'T' : 'F',
                domain->zperiodic ? 'T' : 'F');
  out << n << "\n" << buf << "\n";
  for (size_t k : order) {
    const double *row = &all[W * k];
    std::snprintf(buf, sizeof buf, "%s %.10f %.10f %.10f", element_of_type_[int(row[1])].c_str(),
                  row[2] - domain->boxlo[0], row[3] - domain->boxlo[1], row[4] - domain->boxlo[2]);
    out << buf;
    if (atom_grades_current_) {
      std::snprintf(buf, sizeof buf, " %.8g", row[5]);
      out << buf;
    }
    out << "\n";
  }
}

// Local atoms ilist[0..count-1] evaluated as one batch (atoms of NULL types skipped): each
// atom's site energy from its neighbours inside the cutoff, then scatter() its derivatives.
void PairMTPLowRank::sites(const int *ilist, int count, ThreadState &t, double *f, double *va,
                           mtp::SiteGradient *grad) {
  constexpr int L = mtp::SiteEvaluator::kLanes;
  int types[L], ns[L], m = 0;
  const double *rij[L];
  const int *ntypes[L];
  double *dv[L], energies[L];
  for (int k = 0; k < count; ++k) {
    Neighbours &nb = t.batch[m];
    gather(ilist[k], nb);
    if (nb.species < 0) continue;
    types[m] = nb.species;
    ns[m] = nb.n;
    rij[m] = nb.rij.data();
    ntypes[m] = nb.ntypes.data();
    dv[m] = nb.dv.data();
    ++m;
  }
  if (m == 0) return;
  try {
    t.site->compute_batch(m, types, ns, rij, ntypes, dv, grad, energies);
  } catch (const mtp::SiteError &e) {
    const int i = t.batch[e.lane()].i;
    throw mtp::InputError("atom " + std::to_string(atom->tag[i]) + " (type " + std::to_string(atom->type[i]) +
                          "): " + e.what());
  }
  if (short_range_error_) check_short_range(t, m);
  for (int k = 0; k < m; ++k) scatter(t.batch[k], energies[k], t, f, va);
}

// Atom i's neighbours inside the cutoff (of species the potential has) into nb.
void PairMTPLowRank::gather(int i, Neighbours &nb) {
  const double *x = &atom->x[0][0];  // (nmax, 3), contiguous
  const int *type = atom->type;
  nb.i = i;
  nb.species = species_of_type_[type[i]];
  nb.n = 0;
  if (nb.species < 0) return;
  const double cut2 = cutoff_ * cutoff_;
  const int *jlist = list->firstneigh[i];
  const int jnum = list->numneigh[i];
  if (int(nb.jatom.size()) < jnum) {  // grow only
    nb.jatom.resize(jnum);
    nb.ntypes.resize(jnum);
    nb.rij.resize(3 * size_t(jnum));
    nb.dv.resize(3 * size_t(jnum));
  }
  // Locals and raw pointers: the stores below cannot alias them, so nothing is reloaded per
  // candidate.
  const double xi = x[3 * size_t(i)], yi = x[3 * size_t(i) + 1], zi = x[3 * size_t(i) + 2];
  const int *species_of_type = species_of_type_.data();
  int *jatom = nb.jatom.data(), *ntypes = nb.ntypes.data();
  double *rij = nb.rij.data();
  int n = 0;
  for (int jj = 0; jj < jnum; ++jj) {  // branch-free compaction: every candidate is written at n,
    const int j = jlist[jj] & NEIGHMASK;  // n advances for the kept ones (the test is unpredictable)
    const double *xj = x + 3 * size_t(j);
    const double dx = xj[0] - xi, dy = xj[1] - yi, dz = xj[2] - zi;
    const int sj = species_of_type[type[j]];
    jatom[n] = j;
    ntypes[n] = sj;
    rij[3 * n] = dx;
    rij[3 * n + 1] = dy;
    rij[3 * n + 2] = dz;
    n += int(dx * dx + dy * dy + dz * dz < cut2) & int(sj >= 0);
  }
  nb.n = n;
}

// short_range error: stop at an atom of this batch with a neighbour inside min_dist, naming it.
void PairMTPLowRank::check_short_range(ThreadState &t, int count) {
  const mtp::ShortRangeTally tally = t.site->take_short_range();
  if (!tally.sites) return;
  const double min_dist = pot_->radial_basis().min_dist;
  for (int k = 0; k < count; ++k) {
    const Neighbours &nb = t.batch[k];
    double r2_min = min_dist * min_dist;
    for (int q = 0; q < nb.n; ++q) {
      const double *r = &nb.rij[3 * size_t(q)];
      r2_min = std::min(r2_min, r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    }
    if (r2_min >= min_dist * min_dist) continue;
    char msg[200];
    std::snprintf(msg, sizeof msg, "atom %lld (type %d) has a neighbour at %.4f A, closer than the potential's "
                  "min_dist %g A (short_range error)", (long long)atom->tag[nb.i], atom->type[nb.i],
                  std::sqrt(r2_min), min_dist);
    throw mtp::InputError(msg);
  }
}

// Atom nb.i's site energy vi and dV_i/dr_ij onto f (i and j, (nall, 3)), the pair virial
// -r_ij (x) dV_i/dr_ij into t.virial and, half each, into vatom ((nall, 6) or nullptr), as
// ev_tally_xyz would.
void PairMTPLowRank::scatter(const Neighbours &nb, double vi, ThreadState &t, double *f, double *va) {
  const int i = nb.i, n = nb.n;
  t.energy += vi;
  if (eflag_atom) eatom[i] += vi;  // each local atom belongs to one thread
  for (int k = 0; k < n; ++k) {
    const int j = nb.jatom[k];
    const double *g = &nb.dv[3 * k];  // dV_i / dr_ij
    double *fi = f + 3 * size_t(i), *fj = f + 3 * size_t(j);
    fi[0] += g[0];
    fi[1] += g[1];
    fi[2] += g[2];
    fj[0] -= g[0];
    fj[1] -= g[1];
    fj[2] -= g[2];
    if (!vflag_either) continue;
    const double dx = -nb.rij[3 * k], dy = -nb.rij[3 * k + 1], dz = -nb.rij[3 * k + 2];
    const double v[6] = {dx * g[0], dy * g[1], dz * g[2], dx * g[1], dx * g[2], dy * g[2]};
    if (vflag_global)
      for (int c = 0; c < 6; ++c) t.virial[c] += v[c];
    if (va)
      for (int c = 0; c < 6; ++c) {
        va[6 * size_t(i) + c] += 0.5 * v[c];
        va[6 * size_t(j) + c] += 0.5 * v[c];
      }
  }
}
