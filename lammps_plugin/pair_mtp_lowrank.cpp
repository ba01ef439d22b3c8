#include "pair_mtp_lowrank.h"

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

PairMTPLowRank::~PairMTPLowRank() {
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
  for (int i = 0; i < narg; i += 2) {
    const std::string key = arg[i];
    if (key != "short_range" || i + 1 >= narg)
      error->all(FLERR, "Illegal pair_style mtp/lowrank command: expected [short_range warn|error], got '{}'", key);
    const std::string v = arg[i + 1];
    if (v != "warn" && v != "error")
      error->all(FLERR, "pair_style mtp/lowrank: short_range must be warn or error, got '{}'", v);
    short_range_error_ = v == "error";
  }
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
  site_ = std::make_unique<mtp::SiteEvaluator>(*pot_);
  cutoff_ = pot_->cutoff();
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
  bytes += double(rij_.capacity() + dv_.capacity()) * sizeof(double);
  bytes += double(ntypes_.capacity() + jatom_.capacity() + species_of_type_.capacity()) * sizeof(int);
  if (site_) bytes += double(site_->memory_bytes());
  if (pot_) bytes += double(pot_->radial_coeffs().pair_table().size()) * sizeof(double);
  return bytes;
}

void PairMTPLowRank::setup() {
  if (site_) site_->take_short_range();  // count per run
}

// End of a run: one line with the atoms that had a neighbour closer than min_dist.
void PairMTPLowRank::finish() {
  if (!site_) return;
  const mtp::ShortRangeTally t = site_->take_short_range();
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

void PairMTPLowRank::compute(int eflag, int vflag) {
  ev_init(eflag, vflag);
  double **x = atom->x;
  double **f = atom->f;
  const int *type = atom->type;
  const int nlocal = atom->nlocal;
  const double cut2 = cutoff_ * cutoff_;
  const int inum = list->inum;
  const int *ilist = list->ilist;
  const int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;

  for (int ii = 0; ii < inum; ++ii) {
    const int i = ilist[ii];
    const int si = species_of_type_[type[i]];
    if (si < 0) continue;
    const int *jlist = firstneigh[i];
    const int jnum = numneigh[i];
    if (int(jatom_.size()) < jnum) {  // grow only
      jatom_.resize(jnum);
      ntypes_.resize(jnum);
      rij_.resize(3 * size_t(jnum));
      dv_.resize(3 * size_t(jnum));
    }
    int n = 0;
    for (int jj = 0; jj < jnum; ++jj) {
      const int j = jlist[jj] & NEIGHMASK;
      const int sj = species_of_type_[type[j]];
      if (sj < 0) continue;
      const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
      if (dx * dx + dy * dy + dz * dz >= cut2) continue;
      jatom_[n] = j;
      ntypes_[n] = sj;
      rij_[3 * n] = dx;
      rij_[3 * n + 1] = dy;
      rij_[3 * n + 2] = dz;
      ++n;
    }
    double vi = 0.0;
    try {
      vi = site_->compute(si, n, rij_.data(), ntypes_.data(), dv_.data(), nullptr);
    } catch (const std::exception &e) {
      error->one(FLERR, "pair_style mtp/lowrank: atom {} (type {}): {}", atom->tag[i], type[i], e.what());
    }
    if (short_range_error_) {
      const mtp::ShortRangeTally t = site_->take_short_range();
      if (t.sites)
        error->one(FLERR, "pair_style mtp/lowrank: atom {} (type {}) has a neighbour at {:.4f} A, closer than "
                   "the potential's min_dist {} A (short_range error)", atom->tag[i], type[i], t.closest,
                   pot_->radial_basis().min_dist);
    }
    if (eflag_either) {
      if (eflag_global) eng_vdwl += vi;
      if (eflag_atom) eatom[i] += vi;
    }
    for (int k = 0; k < n; ++k) {
      const int j = jatom_[k];
      const double *g = &dv_[3 * k];  // dV_i / dr_ij
      f[i][0] += g[0];
      f[i][1] += g[1];
      f[i][2] += g[2];
      f[j][0] -= g[0];
      f[j][1] -= g[1];
      f[j][2] -= g[2];
      if (vflag_either)
        ev_tally_xyz(i, j, nlocal, 1, 0.0, 0.0, g[0], g[1], g[2], -rij_[3 * k], -rij_[3 * k + 1], -rij_[3 * k + 2]);
    }
  }
}
