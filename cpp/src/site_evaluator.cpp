#include "mtp/site_evaluator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "mtp/errors.h"

namespace mtp {

void SiteGradient::reset(const Potential& pot) {
  species.assign(pot.n_species(), 0.0);
  moment.assign(pot.n_basis_functions(), 0.0);
  radial.assign(pot.radial_coeffs().shape().full_size(), 0.0);
}

void SiteGradient::add(const SiteGradient& o) {
  for (size_t i = 0; i < species.size(); ++i) species[i] += o.species[i];
  for (size_t i = 0; i < moment.size(); ++i) moment[i] += o.moment[i];
  for (size_t i = 0; i < radial.size(); ++i) radial[i] += o.radial[i];
}

SiteEvaluator::SiteEvaluator(const Potential& pot)
    : pot_(pot),
      n_funcs_(pot.n_funcs()),
      n_basis_(pot.radial_basis().size),
      n_species_(pot.n_species()) {
  const MomentProgram& prog = pot.program();
  const int max_nu = prog.max_nu();
  // Monomial table ordered by degree; index of (a, b, c).
  std::map<std::tuple<int, int, int>, int> index;
  std::vector<std::array<int, 3>> exps;
  for (int d = 0; d <= max_nu; ++d)
    for (int a = d; a >= 0; --a)
      for (int b = d - a; b >= 0; --b) {
        index[{a, b, d - a - b}] = int(exps.size());
        exps.push_back({a, b, d - a - b});
      }
  n_mono_ = int(exps.size());
  mono_parent_.assign(n_mono_, 0);
  mono_axis_.assign(n_mono_, 0);
  for (int m = 1; m < n_mono_; ++m) {
    auto e = exps[m];
    const int axis = e[0] > 0 ? 0 : (e[1] > 0 ? 1 : 2);
    e[axis] -= 1;
    mono_parent_[m] = index[{e[0], e[1], e[2]}];
    mono_axis_[m] = axis;
  }
  const int nb = int(prog.basic.size());
  basic_mu_.resize(nb);
  basic_mono_.resize(nb);
  basic_nu_.resize(nb);
  basic_lower_.assign(3 * nb, 0);
  basic_lower_coef_.assign(3 * nb, 0.0);
  for (int b = 0; b < nb; ++b) {
    const auto& e = prog.basic[b];
    basic_mu_[b] = e[0];
    basic_mono_[b] = index[{e[1], e[2], e[3]}];
    basic_nu_[b] = e[1] + e[2] + e[3];
    for (int ax = 0; ax < 3; ++ax) {
      if (e[1 + ax] == 0) continue;
      int lower[3] = {e[1], e[2], e[3]};
      lower[ax] -= 1;
      basic_lower_[3 * b + ax] = index[{lower[0], lower[1], lower[2]}];
      basic_lower_coef_[3 * b + ax] = e[1 + ax];
    }
  }
  moments_.assign(prog.moments_count, 0.0);
  adjoint_.assign(prog.moments_count, 0.0);
  s_mu_.assign(n_funcs_, 0.0);
}

void SiteEvaluator::grow(int n) {
  if (n <= capacity_) return;
  capacity_ = std::max(n, capacity_ + capacity_ / 2);
  active_.resize(capacity_);
  dist_.resize(capacity_);
  unit_.resize(3 * size_t(capacity_));
  mono_.resize(size_t(capacity_) * n_mono_);
  f_.resize(size_t(capacity_) * n_funcs_);
  df_.resize(size_t(capacity_) * n_funcs_);
  rb_.resize(size_t(capacity_) * n_basis_);
  drb_.resize(size_t(capacity_) * n_basis_);
}

double SiteEvaluator::compute(int type, int n, const double* rij, const int* ntypes,
                              double* dv_drij, SiteGradient* grad) {
  if (type < 0 || type >= n_species_)
    throw InputError("atom species index " + std::to_string(type) + " is outside 0.." +
                     std::to_string(n_species_ - 1));
  grow(n);
  const MomentProgram& prog = pot_.program();
  const RadialBasis& basis = pot_.radial_basis();
  const double* table = pot_.radial_coeffs().pair_table().data();  // (N_T, N_T, N_f, N_b)
  const double cutoff = basis.max_dist;
  const int nf = n_funcs_, nbas = n_basis_, nm = n_mono_;
  const int n_basic = int(prog.basic.size());

  std::fill(moments_.begin(), moments_.end(), 0.0);
  if (dv_drij) std::fill(dv_drij, dv_drij + 3 * size_t(n), 0.0);

  // ---- forward over neighbours: radial functions, monomials, basic moments ----------------
  int na = 0;
  for (int k = 0; k < n; ++k) {
    const double x = rij[3 * k], y = rij[3 * k + 1], z = rij[3 * k + 2];
    const double r2 = x * x + y * y + z * z;
    if (!(r2 < cutoff * cutoff)) {
      if (!std::isfinite(r2))
        throw InputError("neighbour " + std::to_string(k) + " has a non-finite position");
      continue;
    }
    const int tj = ntypes[k];
    if (tj < 0 || tj >= n_species_)
      throw InputError("neighbour species index " + std::to_string(tj) + " is outside 0.." +
                       std::to_string(n_species_ - 1));
    const double r = std::sqrt(r2);
    if (r < 1e-8)
      throw InputError("two atoms coincide (distance " + std::to_string(r) + " A)");
    const int a = na++;
    active_[a] = k;
    dist_[a] = r;
    const double inv = 1.0 / r;
    double* u = &unit_[3 * size_t(a)];
    u[0] = x * inv;
    u[1] = y * inv;
    u[2] = z * inv;
    double* rb = &rb_[size_t(a) * nbas];
    double* drb = &drb_[size_t(a) * nbas];
    basis.evaluate(r, rb, drb);
    const double* c = table + (size_t(type) * n_species_ + tj) * nf * nbas;
    double* f = &f_[size_t(a) * nf];
    double* df = &df_[size_t(a) * nf];
    for (int mu = 0; mu < nf; ++mu) {
      double v = 0.0, d = 0.0;
      const double* cm = c + size_t(mu) * nbas;
      for (int b = 0; b < nbas; ++b) {
        v += cm[b] * rb[b];
        d += cm[b] * drb[b];
      }
      f[mu] = v;
      df[mu] = d;
    }
    double* mono = &mono_[size_t(a) * nm];
    mono[0] = 1.0;
    for (int m = 1; m < nm; ++m) mono[m] = mono[mono_parent_[m]] * u[mono_axis_[m]];
    for (int b = 0; b < n_basic; ++b) moments_[b] += f[basic_mu_[b]] * mono[basic_mono_[b]];
  }

  // ---- intermediates and scalar basis functions ---------------------------------------------
  double* m = moments_.data();
  for (const auto& t : prog.times) m[t[3]] += t[2] * m[t[0]] * m[t[1]];
  const std::vector<double>& xi = pot_.moment_coeffs();
  double energy = pot_.species_coeffs()[type];
  for (size_t al = 0; al < xi.size(); ++al) energy += xi[al] * m[prog.scalar_map[al]];
  if (!std::isfinite(energy))
    throw InputError("site energy of a species-" + std::to_string(type) +
                     " atom is not finite (check positions and parameters)");

  if (grad) {
    grad->species[type] += 1.0;
    for (size_t al = 0; al < xi.size(); ++al) grad->moment[al] += m[prog.scalar_map[al]];
  }
  if (!dv_drij && !grad) return energy;

  // ---- reverse through the program: adjoint[k] = dV/d moment k -----------------------------
  double* g = adjoint_.data();
  std::fill(adjoint_.begin(), adjoint_.end(), 0.0);
  for (size_t al = 0; al < xi.size(); ++al) g[prog.scalar_map[al]] += xi[al];
  for (auto t = prog.times.rbegin(); t != prog.times.rend(); ++t) {
    const double gk = (*t)[2] * g[(*t)[3]];
    if (gk == 0.0) continue;
    g[(*t)[0]] += gk * m[(*t)[1]];
    g[(*t)[1]] += gk * m[(*t)[0]];
  }

  // ---- reverse over neighbours ------------------------------------------------------------
  for (int a = 0; a < na; ++a) {
    const double* mono = &mono_[size_t(a) * nm];
    const double* f = &f_[size_t(a) * nf];
    if (dv_drij) {
      const double* df = &df_[size_t(a) * nf];
      // dV/dr_vec = A rhat + (Cvec - B rhat) / r with
      // A = sum_b g_b f'_mu mono_b, B = sum_b g_b f_mu nu_b mono_b,
      // Cvec = sum_b g_b f_mu grad_rhat(mono_b)
      double A = 0.0, B = 0.0, cx = 0.0, cy = 0.0, cz = 0.0;
      for (int b = 0; b < n_basic; ++b) {
        const double gb = g[b];
        const int mu = basic_mu_[b];
        const double w = gb * f[mu];
        const double mb = mono[basic_mono_[b]];
        A += gb * df[mu] * mb;
        B += w * basic_nu_[b] * mb;
        const int* lo = &basic_lower_[3 * b];
        const double* lc = &basic_lower_coef_[3 * b];
        cx += w * lc[0] * mono[lo[0]];
        cy += w * lc[1] * mono[lo[1]];
        cz += w * lc[2] * mono[lo[2]];
      }
      const double* u = &unit_[3 * size_t(a)];
      const double inv = 1.0 / dist_[a];
      double* out = dv_drij + 3 * size_t(active_[a]);
      out[0] = A * u[0] + (cx - B * u[0]) * inv;
      out[1] = A * u[1] + (cy - B * u[1]) * inv;
      out[2] = A * u[2] + (cz - B * u[2]) * inv;
    }
    if (grad) {
      // dV/dC[type, tj, mu, beta] = sum_{b: mu_b = mu} g_b mono_b * phi_beta(r)
      std::fill(s_mu_.begin(), s_mu_.end(), 0.0);
      for (int b = 0; b < n_basic; ++b) s_mu_[basic_mu_[b]] += g[b] * mono[basic_mono_[b]];
      const int tj = ntypes[active_[a]];
      double* dc = grad->radial.data() + (size_t(type) * n_species_ + tj) * nf * nbas;
      const double* rb = &rb_[size_t(a) * nbas];
      for (int mu = 0; mu < nf; ++mu)
        for (int b = 0; b < nbas; ++b) dc[mu * nbas + b] += s_mu_[mu] * rb[b];
    }
  }
  return energy;
}

}  // namespace mtp
