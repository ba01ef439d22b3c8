// Forward-mode (tangent) pass over the parameter gradient of a site energy, for force and
// stress terms of training losses without per-configuration Jacobians:
//   sum_i dF_i . dF_i/dtheta = -D_v (dE/dtheta),  v_i = force residuals,
// evaluated as a directional derivative along pair tangents t_ij. Cost: about two forward and
// two reverse program passes per site, independent of the number of parameters; the program
// passes run on kLanes atoms at once, one per SIMD lane, as in compute_batch().
#include <algorithm>
#include <cmath>

#include "mtp/errors.h"
#include "mtp/site_evaluator.h"
#include "simd4.h"

namespace mtp {

using simd::load4;
using simd::store4;
using simd::v4;

double SiteEvaluator::compute_tangent(int type, int n, const double* rij, const int* ntypes,
                                      const double* tij, SiteGradient& grad, SiteGradient& dgrad) {
  double energy = 0.0;
  compute_tangent_batch(1, &type, &n, &rij, &ntypes, &tij, grad, dgrad, &energy);
  return energy;
}

void SiteEvaluator::compute_tangent_batch(int count, const int* types, const int* n, const double* const* rij,
                                          const int* const* ntypes, const double* const* tij, SiteGradient& grad,
                                          SiteGradient& dgrad, double* energies) {
  if (count < 1 || count > kLanes)
    throw InputError("compute_tangent_batch: " + std::to_string(count) + " atoms (1.." + std::to_string(kLanes) + ")");
  const MomentProgram& prog = pot_.program();
  const size_t n_sphere = sphere_mu_.size(), n_moments = size_t(prog.moments_count);
  for (int k = 0; k < count; ++k) forward_neighbours(k, types[k], n[k], rij[k], ntypes[k]);
  for (int k = count; k < kLanes; ++k)  // idle lanes: zero sphere moments, results unused
    for (size_t s = 0; s < n_sphere; ++s) sphere_[s * kLanes + k] = 0.0;
  program_stage(count, types, energies);
  reverse_program();
  t_dmoments_.assign(n_moments * kLanes, 0.0);
  t_dadjoint_.assign(n_moments * kLanes, 0.0);
  t_dsphere_.assign(n_sphere * kLanes, 0.0);
  t_dsphere_adjoint_.assign(n_sphere * kLanes, 0.0);
  for (int k = 0; k < count; ++k) tangent_neighbours_stage(hoods_[k], k, tij[k]);
  tangent_program_stage();
  for (int k = 0; k < count; ++k) tangent_gradient_stage(hoods_[k], k, types[k], grad, dgrad);
}

// Tangents of r, rhat, f_mu and the sphere monomials of atom `lane` along its pair tangents t,
// and the tangents of its sphere moments (its lane of t_dsphere_).
void SiteEvaluator::tangent_neighbours_stage(Neighbourhood& h, int lane, const double* t) {
  const int nf = n_funcs_, nm = n_mono_, na = h.na, np = h.np;
  const size_t c = h.capacity;
  h.tdr.resize(c);
  h.tdu.resize(3 * c);
  h.tdmono.resize(size_t(nm) * c);
  h.tdf.resize(size_t(nf) * c);
  // r_dot = rhat . t;  rhat_dot = (t - rhat r_dot) / r
  const double* u = &h.unit[0];
  double* dr = h.tdr.data();
  double* du = h.tdu.data();
  for (int a = 0; a < np; ++a) {
    dr[a] = 0.0;
    du[a] = du[np + a] = du[2 * np + a] = 0.0;
  }
  for (int a = 0; a < na; ++a) {
    const double* ta = t + 3 * size_t(h.active[a]);
    const double ux = u[a], uy = u[np + a], uz = u[2 * np + a];
    const double rdot = ux * ta[0] + uy * ta[1] + uz * ta[2];
    const double inv = 1.0 / h.dist[a];
    dr[a] = rdot;
    du[a] = (ta[0] - ux * rdot) * inv;
    du[np + a] = (ta[1] - uy * rdot) * inv;
    du[2 * np + a] = (ta[2] - uz * rdot) * inv;
  }
  for (int mu = 0; mu < nf; ++mu)
    for (int a = 0; a < np; ++a) h.tdf[size_t(mu) * np + a] = h.df[size_t(mu) * np + a] * dr[a];
  for (int mo = 0; mo < nm; ++mo) {
    double* out = &h.tdmono[size_t(mo) * np];
    for (int a = 0; a < np; ++a) out[a] = 0.0;
    for (int ax = 0; ax < 3; ++ax) {
      const double coef = mono_lower_coef_[3 * mo + ax];
      if (coef == 0.0) continue;
      const double* lo = &h.mono[size_t(mono_lower_[3 * mo + ax]) * np];
      const double* d = du + size_t(ax) * np;
      for (int a = 0; a < np; ++a) out[a] += coef * lo[a] * d[a];
    }
  }
  double* dm = t_dsphere_.data() + lane;
  for (size_t b = 0; b < sphere_mu_.size(); ++b) {
    const double* fr = &h.f[size_t(sphere_mu_[b]) * np];
    const double* dfr = &h.tdf[size_t(sphere_mu_[b]) * np];
    const double* mr = &h.mono[size_t(sphere_mono_[b]) * np];
    const double* dmr = &h.tdmono[size_t(sphere_mono_[b]) * np];
    double s = 0.0;
    for (int a = 0; a < np; ++a) s += dfr[a] * mr[a] + fr[a] * dmr[a];
    dm[b * kLanes] = s;
  }
}

// The tangents of the program's moments and of the adjoints, all lanes (the sphere maps are
// linear, so tangents pass through them as values do):
//   m_dot[k] = sum mult (m_dot_i m_j + m_i m_dot_j)
//   adjoint_dot[i] = sum mult (adjoint_dot[k] m_j + adjoint[k] m_dot_j).
void SiteEvaluator::tangent_program_stage() {
  const double* m = moments_.data();
  const double* g = adjoint_.data();
  double* dm = t_dmoments_.data();
  double* dg = t_dadjoint_.data();
  expand_sphere(t_dsphere_.data(), dm);
  for (size_t t = 0; t < target_.size(); ++t) {
    v4 s = {0, 0, 0, 0};
    for (int q = target_begin_[t]; q < target_begin_[t + 1]; ++q) {
      const Term& e = terms_[q];
      const size_t i = 4 * size_t(e.i), j = 4 * size_t(e.j);
      s += e.mult * (load4(dm + i) * load4(m + j) + load4(m + i) * load4(dm + j));
    }
    store4(dm + 4 * size_t(target_[t]), s);
  }
  for (size_t o = 0; o < pull_order_.size(); ++o) {
    v4 s = {0, 0, 0, 0};
    for (int q = pull_begin_[o]; q < pull_begin_[o + 1]; ++q) {
      const Term& e = pull_terms_[q];
      const size_t i = 4 * size_t(e.i), j = 4 * size_t(e.j);
      s += e.mult * (load4(dg + i) * load4(m + j) + load4(g + i) * load4(dm + j));
    }
    store4(dg + 4 * size_t(pull_order_[o]), s);
  }
  contract_sphere(dg, t_dsphere_adjoint_.data());
}

// dV/d(parameters) of atom `lane` into grad and its tangent into dgrad.
void SiteEvaluator::tangent_gradient_stage(Neighbourhood& h, int lane, int type, SiteGradient& grad,
                                           SiteGradient& dgrad) {
  const MomentProgram& prog = pot_.program();
  const int nf = n_funcs_, nbas = n_basis_, na = h.na, np = h.np;
  const double* m = moments_.data() + lane;
  const double* dm = t_dmoments_.data() + lane;
  const double* g = sphere_adjoint_.data() + lane;          // dV/dS
  const double* dg = t_dsphere_adjoint_.data() + lane;      // its tangent
  grad.species[type] += 1.0;
  for (size_t al = 0; al < prog.scalar_map.size(); ++al) {
    grad.moment[al] += m[size_t(prog.scalar_map[al]) * kLanes];
    dgrad.moment[al] += dm[size_t(prog.scalar_map[al]) * kLanes];
  }
  // P_mu = sum_{s: mu_s = mu} g_s mono_s and its tangent, per neighbour.
  h.tp.assign(size_t(nf) * np, 0.0);
  h.tdp.assign(size_t(nf) * np, 0.0);
  for (size_t b = 0; b < sphere_mu_.size(); ++b) {
    const double gb = g[b * kLanes], dgb = dg[b * kLanes];
    double* p = &h.tp[size_t(sphere_mu_[b]) * np];
    double* dp = &h.tdp[size_t(sphere_mu_[b]) * np];
    const double* mr = &h.mono[size_t(sphere_mono_[b]) * np];
    const double* dmr = &h.tdmono[size_t(sphere_mono_[b]) * np];
    for (int a = 0; a < np; ++a) {
      p[a] += gb * mr[a];
      dp[a] += dgb * mr[a] + gb * dmr[a];
    }
  }
  // dV/dC[type, t_j, mu, beta] = P_mu phi_beta; tangent: P_dot phi_beta + P phi_beta' r_dot.
  const size_t block = size_t(nf) * nbas;
  double* gc = grad.radial.data() + size_t(type) * n_species_ * block;
  double* dgc = dgrad.radial.data() + size_t(type) * n_species_ * block;
  for (int a = 0; a < na; ++a) {
    double* gca = gc + size_t(h.active_type[a]) * block;
    double* dgca = dgc + size_t(h.active_type[a]) * block;
    for (int mu = 0; mu < nf; ++mu) {
      const double p = h.tp[size_t(mu) * np + a], dp = h.tdp[size_t(mu) * np + a];
      for (int b = 0; b < nbas; ++b) {
        const double phi = h.rb[size_t(b) * np + a], dphi = h.drb[size_t(b) * np + a] * h.tdr[a];
        gca[mu * nbas + b] += p * phi;
        dgca[mu * nbas + b] += dp * phi + p * dphi;
      }
    }
  }
}

}  // namespace mtp
