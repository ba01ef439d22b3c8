#include "mtp/training_loss.h"

#include <cmath>
#include <string>

#include "mtp/configuration.h"
#include "mtp/errors.h"
#include "mtp/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mtp {

void TrainingSet::add(TrainingConfiguration c) {
  const std::string where = "training configuration " + std::to_string(configs_.size());
  if (c.n_atoms < 1) throw InputError(where + ": no atoms");
  if (c.positions.size() != 3 * size_t(c.n_atoms) || c.types.size() != size_t(c.n_atoms))
    throw InputError(where + ": positions/types do not match the number of atoms");
  if (c.w_forces != 0.0 && c.forces.size() != 3 * size_t(c.n_atoms))
    throw InputError(where + ": forces are weighted but missing");
  if (c.w_virial != 0.0 && !(c.pbc[0] && c.pbc[1] && c.pbc[2]))
    throw InputError(where + ": stresses need a cell periodic in three directions");
  for (double x : {c.energy, c.w_energy, c.w_forces, c.w_virial})
    if (!std::isfinite(x)) throw InputError(where + ": non-finite reference or weight");
  configs_.push_back(std::move(c));
}

LossResult loss_and_gradient(std::shared_ptr<const Potential> pot, const TrainingSet& data,
                             bool with_gradient, int n_threads, const std::vector<int>& subset) {
  std::vector<int> idx = subset;
  if (idx.empty())
    for (size_t k = 0; k < data.size(); ++k) idx.push_back(int(k));
  const int nc = int(idx.size());
#ifdef _OPENMP
  if (n_threads <= 0) n_threads = omp_get_max_threads();
#else
  n_threads = 1;
#endif
  LossResult res;
  res.energy_error.assign(nc, 0.0);
  res.force_sq.assign(nc, 0.0);
  res.virial_sq.assign(nc, 0.0);
  res.loss_terms.assign(3 * size_t(nc), 0.0);
  // Per-thread accumulators of dL/d(full parameters).
  std::vector<SiteGradient> acc(n_threads);
  for (auto& a : acc) a.reset(*pot);
  // One single-threaded evaluator and scratch per thread, reused across configurations.
  std::vector<std::unique_ptr<Evaluator>> evs;
  for (int t = 0; t < n_threads; ++t) evs.push_back(std::make_unique<Evaluator>(pot, 1));
  std::vector<SiteGradient> g(n_threads), dg(n_threads);
  std::vector<std::vector<double>> vbuf(n_threads);
  // Static schedule: per-thread sums are added in thread order, so results are reproducible
  // bit for bit for a given thread count.
  parallel_for(nc, n_threads, Schedule::Static,
               [&](int q) { return "training configuration " + std::to_string(idx[q]); },
               [&](int q, int tid) {
    Evaluator& ev = *evs[tid];
    std::vector<double>& v = vbuf[tid];
    const TrainingConfiguration& c = data[idx[q]];
    EvalRequest req;
    req.forces = true;
    const EvalResult r = ev.evaluate(c.n_atoms, c.positions.data(), c.types.data(), c.cell.data(),
                                     c.pbc.data(), req);
    const double de = r.energy - c.energy;
    res.energy_error[q] = de;
    double fsq = 0.0;
    v.assign(3 * size_t(c.n_atoms), 0.0);
    if (!c.forces.empty())
      for (size_t d = 0; d < v.size(); ++d) {
        const double df = r.forces[d] - c.forces[d];
        fsq += df * df;
        v[d] = 2.0 * c.w_forces * df;
      }
    double M[9], vsq = 0.0;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) {
        const double dw = r.virial[3 * a + b] - c.virial[3 * a + b];
        if (a <= b) vsq += dw * dw;
        M[3 * a + b] = 2.0 * c.w_virial * (a == b ? dw : 0.5 * dw);
      }
    res.force_sq[q] = fsq;
    res.virial_sq[q] = vsq;
    res.loss_terms[3 * q] = c.w_energy * de * de;
    res.loss_terms[3 * q + 1] = c.w_forces * fsq;
    res.loss_terms[3 * q + 2] = c.w_virial * vsq;
    if (!with_gradient) return;
    g[tid].reset(*pot);
    dg[tid].reset(*pot);
    ev.parameter_tangent(c.types.data(), c.w_forces != 0.0 ? v.data() : nullptr,
                         c.w_virial != 0.0 ? M : nullptr, g[tid], dg[tid]);
    // dL/dtheta = 2 we dE G - D_t G
    const double ce = 2.0 * c.w_energy * de;
    SiteGradient& out = acc[tid];
    for (size_t i = 0; i < out.species.size(); ++i) out.species[i] += ce * g[tid].species[i] - dg[tid].species[i];
    for (size_t i = 0; i < out.moment.size(); ++i) out.moment[i] += ce * g[tid].moment[i] - dg[tid].moment[i];
    for (size_t i = 0; i < out.radial.size(); ++i) out.radial[i] += ce * g[tid].radial[i] - dg[tid].radial[i];
  });
  for (int q = 0; q < nc; ++q)
    res.loss += res.loss_terms[3 * q] + res.loss_terms[3 * q + 1] + res.loss_terms[3 * q + 2];
  if (with_gradient) {
    SiteGradient total;
    total.reset(*pot);
    for (const auto& a : acc) total.add(a);
    const std::vector<double> radial = pot->radial_coeffs().pullback(total.radial.data());
    res.grad = total.species;
    res.grad.insert(res.grad.end(), total.moment.begin(), total.moment.end());
    res.grad.insert(res.grad.end(), radial.begin(), radial.end());
  }
  return res;
}

}  // namespace mtp
