// Forward-mode (tangent) pass over the parameter gradient of a site energy, for force and
// stress terms of training losses without per-configuration Jacobians:
//   sum_i dF_i . dF_i/dtheta = -D_v (dE/dtheta),  v_i = force residuals,
// evaluated as a directional derivative along pair tangents t_ij. Cost: about two forward and
// two reverse program passes per site, independent of the number of parameters.
#include <algorithm>
#include <cmath>

#include "mtp/errors.h"
#include "mtp/site_evaluator.h"

namespace mtp {

double SiteEvaluator::compute_tangent(int type, int n, const double* rij, const int* ntypes,
                                      const double* tij, SiteGradient& grad,
                                      SiteGradient& dgrad) {
  double energy = 0.0;
  forward_neighbours(0, type, n, rij, ntypes);
  const MomentProgram& prog = pot_.program();
  for (int k = 1; k < kLanes; ++k)  // idle lanes
    for (size_t b = 0; b < prog.basic.size(); ++b) moments_[b * kLanes + k] = 0.0;
  program_stage(1, &type, &energy);
  reverse_program();
  Neighbourhood& h = hoods_[0];
  const int nf = n_funcs_, nbas = n_basis_, nm = n_mono_, na = h.na, np = h.np;
  const int n_basic = int(prog.basic.size());
  const size_t c = h.capacity;
  const size_t n_moments = size_t(prog.moments_count);
  t_dr_.resize(c);
  t_du_.resize(3 * c);
  t_dmono_.resize(size_t(nm) * c);
  t_df_.resize(size_t(nf) * c);
  t_p_.resize(size_t(nf) * c);
  t_dp_.resize(size_t(nf) * c);
  t_dmoments_.assign(n_moments, 0.0);
  t_dadjoint_.assign(n_moments, 0.0);
  // Lane 0 of the moments and adjoints, gathered contiguous.
  t_m_.resize(n_moments);
  t_g_.resize(n_moments);
  for (size_t k = 0; k < n_moments; ++k) {
    t_m_[k] = moments_[k * kLanes];
    t_g_[k] = adjoint_[k * kLanes];
  }
  const double* m = t_m_.data();
  const double* g = t_g_.data();
  double* dm = t_dmoments_.data();
  double* dg = t_dadjoint_.data();

  // ---- tangents of r, rhat, f_mu and the monomials ------------------------------------------
  // r_dot = rhat . t;  rhat_dot = (t - rhat r_dot) / r
  const double* u = &h.unit[0];
  double* dr = t_dr_.data();
  double* du = t_du_.data();
  for (int a = 0; a < np; ++a) {
    dr[a] = 0.0;
    du[a] = du[np + a] = du[2 * np + a] = 0.0;
  }
  for (int a = 0; a < na; ++a) {
    const double* t = tij + 3 * size_t(h.active[a]);
    const double ux = u[a], uy = u[np + a], uz = u[2 * np + a];
    const double rdot = ux * t[0] + uy * t[1] + uz * t[2];
    const double inv = 1.0 / h.dist[a];
    dr[a] = rdot;
    du[a] = (t[0] - ux * rdot) * inv;
    du[np + a] = (t[1] - uy * rdot) * inv;
    du[2 * np + a] = (t[2] - uz * rdot) * inv;
  }
  for (int mu = 0; mu < nf; ++mu)
    for (int a = 0; a < np; ++a) t_df_[size_t(mu) * np + a] = h.df[size_t(mu) * np + a] * dr[a];
  for (int mo = 0; mo < nm; ++mo) {
    double* out = &t_dmono_[size_t(mo) * np];
    for (int a = 0; a < np; ++a) out[a] = 0.0;
    for (int ax = 0; ax < 3; ++ax) {
      const double coef = mono_lower_coef_[3 * mo + ax];
      if (coef == 0.0) continue;
      const double* lo = &h.mono[size_t(mono_lower_[3 * mo + ax]) * np];
      const double* d = du + size_t(ax) * np;
      for (int a = 0; a < np; ++a) out[a] += coef * lo[a] * d[a];
    }
  }
  // ---- forward tangent: basic moments, then the program ---------------------------------------
  for (int b = 0; b < n_basic; ++b) {
    const double* fr = &h.f[size_t(basic_mu_[b]) * np];
    const double* dfr = &t_df_[size_t(basic_mu_[b]) * np];
    const double* mr = &h.mono[size_t(basic_mono_[b]) * np];
    const double* dmr = &t_dmono_[size_t(basic_mono_[b]) * np];
    double s = 0.0;
    for (int a = 0; a < np; ++a) s += dfr[a] * mr[a] + fr[a] * dmr[a];
    dm[b] = s;
  }
  for (size_t t = 0; t < target_.size(); ++t) {
    double s = 0.0;
    for (int q = target_begin_[t]; q < target_begin_[t + 1]; ++q) {
      const Term& e = terms_[q];
      s += e.mult * (dm[e.i] * m[e.j] + m[e.i] * dm[e.j]);
    }
    dm[target_[t]] = s;
  }
  // ---- reverse tangent: adjoint_dot[i] = sum mult (adjoint_dot[k] m_j + adjoint[k] m_dot_j) --
  for (size_t o = 0; o < pull_order_.size(); ++o) {
    double s = 0.0;
    for (int q = pull_begin_[o]; q < pull_begin_[o + 1]; ++q) {
      const Term& e = pull_terms_[q];
      s += e.mult * (dg[e.i] * m[e.j] + g[e.i] * dm[e.j]);
    }
    dg[pull_order_[o]] = s;
  }

  // ---- gradients and their tangents -------------------------------------------------------------
  grad.species[type] += 1.0;
  for (size_t al = 0; al < prog.scalar_map.size(); ++al) {
    grad.moment[al] += m[prog.scalar_map[al]];
    dgrad.moment[al] += dm[prog.scalar_map[al]];
  }
  // P_mu = sum_{b: mu_b = mu} g_b mono_b and its tangent, per neighbour.
  std::fill(t_p_.begin(), t_p_.begin() + size_t(nf) * np, 0.0);
  std::fill(t_dp_.begin(), t_dp_.begin() + size_t(nf) * np, 0.0);
  for (int b = 0; b < n_basic; ++b) {
    const double gb = g[b], dgb = dg[b];
    double* p = &t_p_[size_t(basic_mu_[b]) * np];
    double* dp = &t_dp_[size_t(basic_mu_[b]) * np];
    const double* mr = &h.mono[size_t(basic_mono_[b]) * np];
    const double* dmr = &t_dmono_[size_t(basic_mono_[b]) * np];
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
      const double p = t_p_[size_t(mu) * np + a], dp = t_dp_[size_t(mu) * np + a];
      for (int b = 0; b < nbas; ++b) {
        const double phi = h.rb[size_t(b) * np + a], dphi = h.drb[size_t(b) * np + a] * dr[a];
        gca[mu * nbas + b] += p * phi;
        dgca[mu * nbas + b] += dp * phi + p * dphi;
      }
    }
  }
  return energy;
}

}  // namespace mtp
