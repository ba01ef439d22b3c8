#include "mtp/configuration.h"

#include <algorithm>
#include <string>

#include "mtp/errors.h"
#include "mtp/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mtp {

namespace {
constexpr int L = SiteEvaluator::kLanes;

// Atoms first .. first + count - 1 as the per-atom arrays SiteEvaluator's batch calls take;
// pairs(k) is the offset of atom k's first pair (rows of per-pair arrays such as dV/dr).
struct AtomBatch {
  int first, count;
  int types[L], n[L], pairs[L];
  const double* rij[L];
  const int* ntypes[L];
  AtomBatch(int first_, int count_, const int* types_all, const NeighborList& nl, const std::vector<int>& ntypes_all)
      : first(first_), count(count_) {
    for (int k = 0; k < count; ++k) {
      const int i = first + k;
      pairs[k] = nl.offsets[i];
      types[k] = types_all[i];
      n[k] = nl.offsets[i + 1] - pairs[k];
      rij[k] = &nl.rij[3 * size_t(pairs[k])];
      ntypes[k] = &ntypes_all[pairs[k]];
    }
  }
  // A SiteError of the batch as an error naming the atom.
  InputError named(const SiteError& e) const {
    return InputError("atom " + std::to_string(first + e.lane()) + ": " + e.what());
  }
};
}  // namespace

Evaluator::Evaluator(std::shared_ptr<const Potential> pot, int n_threads)
    : pot_(std::move(pot)), n_threads_(n_threads) {
#ifdef _OPENMP
  if (n_threads_ <= 0) n_threads_ = omp_get_max_threads();
#else
  n_threads_ = 1;
#endif
  for (int t = 0; t < n_threads_; ++t) {
    sites_.push_back(std::make_unique<SiteEvaluator>(*pot_));
    grads_.emplace_back();
  }
}

EvalResult Evaluator::evaluate(int n, const double* positions, const int* types,
                               const double* cell, const bool* pbc, const EvalRequest& req) {
  const int nt = pot_->n_species();
  for (int i = 0; i < n; ++i)
    if (types[i] < 0 || types[i] >= nt)
      throw InputError("atom " + std::to_string(i) + " has species index " +
                       std::to_string(types[i]) + ", the potential has species 0.." +
                       std::to_string(nt - 1));
  nl_.build(n, positions, cell, pbc, pot_->cutoff(), req.min_distance, n_threads_);
  const size_t npairs = nl_.index.size();
  ntypes_.resize(npairs);
  for (size_t p = 0; p < npairs; ++p) ntypes_[p] = types[nl_.index[p]];
  const bool need_deriv = req.forces || req.site_virials;
  if (need_deriv) dv_drij_.resize(3 * npairs);

  EvalResult res;
  res.site_energies.assign(n, 0.0);
  if (req.param_gradient)
    for (auto& g : grads_) g.reset(*pot_);
  for (auto& site : sites_) site->take_short_range();  // count this configuration only

  size_t width = 0;  // site gradient row length
  if (req.site_param_gradients) {
    site_grads_.resize(sites_.size());
    for (auto& g : site_grads_) g.reset(*pot_);
    width = site_grads_[0].species.size() + site_grads_[0].moment.size() + site_grads_[0].radial.size();
    res.site_gradients.assign(size_t(n) * width, 0.0);
  }
  // Atoms in batches of kLanes (the moment program runs on a batch at once); per-site gradient
  // rows need one atom at a time.
  const int batch = req.site_param_gradients ? 1 : L;
  parallel_for((n + batch - 1) / batch, n_threads_, Schedule::Static, [](int) { return std::string(); },
               [&](int c, int tid) {
    const int first = c * batch, count = std::min(batch, n - first);
    SiteGradient* own = nullptr;
    if (req.site_param_gradients) {
      own = &site_grads_[tid];
      own->reset(*pot_);
    }
    const AtomBatch b(first, count, types, nl_, ntypes_);
    double* dv_b[L];
    for (int k = 0; k < count; ++k) dv_b[k] = need_deriv ? &dv_drij_[3 * size_t(b.pairs[k])] : nullptr;
    try {
      sites_[tid]->compute_batch(count, b.types, b.n, b.rij, b.ntypes, need_deriv ? dv_b : nullptr,
                                 own ? own : req.param_gradient ? &grads_[tid] : nullptr, &res.site_energies[first]);
    } catch (const SiteError& e) {
      throw b.named(e);
    }
    if (own) {
      double* row = &res.site_gradients[size_t(first) * width];
      row = std::copy(own->species.begin(), own->species.end(), row);
      row = std::copy(own->moment.begin(), own->moment.end(), row);
      std::copy(own->radial.begin(), own->radial.end(), row);
      if (req.param_gradient) grads_[tid].add(*own);
    }
  });

  for (auto& site : sites_) res.short_range.add(site->take_short_range());
  for (int i = 0; i < n; ++i) res.energy += res.site_energies[i];
  if (need_deriv) {
    if (req.forces) res.forces.assign(3 * size_t(n), 0.0);
    if (req.site_virials) res.site_virials.assign(9 * size_t(n), 0.0);
    for (int i = 0; i < n; ++i)
      for (int p = nl_.offsets[i]; p < nl_.offsets[i + 1]; ++p) {
        const int j = nl_.index[p];
        const double* g = &dv_drij_[3 * size_t(p)];
        const double* r = &nl_.rij[3 * size_t(p)];
        if (req.forces)
          for (int d = 0; d < 3; ++d) {
            res.forces[3 * size_t(i) + d] += g[d];
            res.forces[3 * size_t(j) + d] -= g[d];
          }
        // virial = sum_atoms r (x) F; this pair adds -r_ij (x) dV_i/dr_ij.
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b) {
            const double w = -r[a] * g[b];
            res.virial[3 * a + b] += w;
            if (req.site_virials) {
              res.site_virials[9 * size_t(i) + 3 * a + b] += 0.5 * w;
              res.site_virials[9 * size_t(j) + 3 * a + b] += 0.5 * w;
            }
          }
      }
  }

  if (req.param_gradient) {
    SiteGradient total;
    total.reset(*pot_);
    for (const auto& g : grads_) total.add(g);
    res.grad_species = std::move(total.species);
    res.grad_moment = std::move(total.moment);
    res.grad_radial = pot_->radial_coeffs().pullback(total.radial.data());
  }
  return res;
}

void Evaluator::parameter_tangent(const int* types, const double* v, const double* S,
                                  SiteGradient& grad, SiteGradient& dgrad) {
  const int n = int(nl_.offsets.size()) - 1;
  const size_t npairs = nl_.index.size();
  tangent_.assign(3 * npairs, 0.0);
  for (int i = 0; i < n; ++i)
    for (int p = nl_.offsets[i]; p < nl_.offsets[i + 1]; ++p) {
      double* t = &tangent_[3 * size_t(p)];
      const double* r = &nl_.rij[3 * size_t(p)];
      if (v) {
        const int j = nl_.index[p];
        for (int d = 0; d < 3; ++d) t[d] = v[3 * size_t(j) + d] - v[3 * size_t(i) + d];
      }
      if (S)
        for (int b = 0; b < 3; ++b) t[b] += S[3 * b] * r[0] + S[3 * b + 1] * r[1] + S[3 * b + 2] * r[2];
    }
  dgrads_.resize(grads_.size());
  for (size_t t = 0; t < grads_.size(); ++t) {
    grads_[t].reset(*pot_);
    dgrads_[t].reset(*pot_);
  }
  // atoms in batches of L (the program runs on L at once)
  parallel_for((n + L - 1) / L, n_threads_, Schedule::Static, [](int) { return std::string(); },
               [&](int c, int tid) {
    const int first = c * L, count = std::min(L, n - first);
    const AtomBatch b(first, count, types, nl_, ntypes_);
    const double* t_b[L];
    double energies[L];
    for (int k = 0; k < count; ++k) t_b[k] = &tangent_[3 * size_t(b.pairs[k])];
    try {
      sites_[tid]->compute_tangent_batch(count, b.types, b.n, b.rij, b.ntypes, t_b, grads_[tid], dgrads_[tid],
                                         energies);
    } catch (const SiteError& e) {
      throw b.named(e);
    }
  });
  for (size_t t = 0; t < grads_.size(); ++t) {
    grad.add(grads_[t]);
    dgrad.add(dgrads_[t]);
  }
}

}  // namespace mtp
