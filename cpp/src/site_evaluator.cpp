#include "mtp/site_evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "mtp/errors.h"

namespace mtp {

namespace {
// Four doubles, loaded and stored unaligned (GCC/Clang vector extension). Neighbour arrays
// have a stride that is a multiple of 4, so every loop over neighbours runs in whole vectors.
typedef double v4 __attribute__((vector_size(32), aligned(8)));
inline v4 load4(const double* p) { return *reinterpret_cast<const v4*>(p); }
inline void store4(double* p, v4 v) { *reinterpret_cast<v4*>(p) = v; }
inline double hsum(v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// f_mu(r_a) = sum_beta C[t_a, beta, mu] phi_beta(r_a) and f_mu' for NF radial functions:
// c (N_T, N_b, NF) for the centre's species, rb/drb (N_b, np), f/df (NF, np).
template <int NF>
void radial_functions_fixed(const double* c, const int* types, const double* rb, const double* drb, int na,
                            int np, int nbas, double* f, double* df) {
  for (int a = 0; a < na; ++a) {
    const double* ca = c + size_t(types[a]) * nbas * NF;
    double v[NF] = {}, d[NF] = {};
    for (int b = 0; b < nbas; ++b) {
      const double r = rb[size_t(b) * np + a], dr = drb[size_t(b) * np + a];
      const double* cb = ca + size_t(b) * NF;
      for (int mu = 0; mu < NF; ++mu) {
        v[mu] += cb[mu] * r;
        d[mu] += cb[mu] * dr;
      }
    }
    for (int mu = 0; mu < NF; ++mu) {
      f[size_t(mu) * np + a] = v[mu];
      df[size_t(mu) * np + a] = d[mu];
    }
  }
}
}  // namespace

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
      n_species_(pot.n_species()),
      max_nu_(pot.program().max_nu()) {
  const MomentProgram& prog = pot.program();
  std::map<std::tuple<int, int, int>, int> index;
  for (int d = 0; d <= max_nu_; ++d)
    for (int a = d; a >= 0; --a)
      for (int b = d - a; b >= 0; --b) {
        index[{a, b, d - a - b}] = int(mono_exp_.size() / 3);
        mono_exp_.insert(mono_exp_.end(), {a, b, d - a - b});
      }
  n_mono_ = int(mono_exp_.size() / 3);
  mono_lower_.assign(3 * n_mono_, 0);
  mono_lower_coef_.assign(3 * n_mono_, 0.0);
  for (int mo = 0; mo < n_mono_; ++mo)
    for (int ax = 0; ax < 3; ++ax) {
      int e[3] = {mono_exp_[3 * mo], mono_exp_[3 * mo + 1], mono_exp_[3 * mo + 2]};
      if (e[ax] == 0) continue;
      mono_lower_coef_[3 * mo + ax] = e[ax];
      e[ax] -= 1;
      mono_lower_[3 * mo + ax] = index[{e[0], e[1], e[2]}];
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
  // Group products by target, targets ordered by their last write (valid: validate() checked
  // that no moment is read before its last write, so earlier terms may move down to it).
  std::vector<int> last(prog.moments_count, -1);
  for (int t = 0; t < int(prog.times.size()); ++t) last[prog.times[t][3]] = t;
  std::vector<std::vector<Term>> by_target(prog.moments_count);
  for (const auto& t : prog.times) by_target[t[3]].push_back({t[0], t[1], double(t[2])});
  target_begin_.push_back(0);
  for (int t = 0; t < int(prog.times.size()); ++t) {
    const int k = prog.times[t][3];
    if (last[k] != t) continue;
    target_.push_back(k);
    terms_.insert(terms_.end(), by_target[k].begin(), by_target[k].end());
    target_begin_.push_back(int(terms_.size()));
  }
  // Pull form of the reverse pass.
  std::vector<std::vector<Term>> uses(prog.moments_count);
  for (int t = 0; t < int(target_.size()); ++t)
    for (int q = target_begin_[t]; q < target_begin_[t + 1]; ++q) {
      const Term& e = terms_[q];
      uses[e.i].push_back({target_[t], e.j, e.mult});
      uses[e.j].push_back({target_[t], e.i, e.mult});
    }
  for (int t = int(target_.size()) - 1; t >= 0; --t) pull_order_.push_back(target_[t]);
  std::vector<char> is_target(prog.moments_count, 0);
  for (int k : target_) is_target[k] = 1;
  for (int k = prog.moments_count - 1; k >= 0; --k)
    if (!is_target[k]) pull_order_.push_back(k);  // basic moments (and unused ones)
  pull_begin_.push_back(0);
  for (int k : pull_order_) {
    pull_terms_.insert(pull_terms_.end(), uses[k].begin(), uses[k].end());
    pull_begin_.push_back(int(pull_terms_.size()));
  }
  seed_.assign(prog.moments_count, 0.0);
  for (size_t al = 0; al < prog.scalar_map.size(); ++al)
    seed_[prog.scalar_map[al]] += pot.moment_coeffs()[al];
  // Radial table with mu innermost.
  const auto& c = pot.radial_coeffs().pair_table();
  table_t_.resize(c.size());
  for (int p = 0; p < n_species_ * n_species_; ++p)
    for (int mu = 0; mu < n_funcs_; ++mu)
      for (int b = 0; b < n_basis_; ++b)
        table_t_[(size_t(p) * n_basis_ + b) * n_funcs_ + mu] = c[(size_t(p) * n_funcs_ + mu) * n_basis_ + b];
  mu_used_.assign(n_funcs_, 0);
  for (int mu : basic_mu_) mu_used_[mu] = 1;
  by_mu_begin_.assign(n_funcs_ + 1, 0);
  for (int mu = 0; mu < n_funcs_; ++mu) {
    for (int b = 0; b < nb; ++b)
      if (basic_mu_[b] == mu) by_mu_.push_back(b);
    by_mu_begin_[mu + 1] = int(by_mu_.size());
  }
  moments_.assign(prog.moments_count, 0.0);
  adjoint_.assign(prog.moments_count, 0.0);
}

size_t SiteEvaluator::memory_bytes() const {
  size_t doubles = basic_nu_.size() + basic_lower_coef_.size() + mono_lower_coef_.size() + seed_.size() +
                   table_t_.size() + dist_.size() + unit_.size() + powers_.size() + mono_.size() +
                   rb_.size() + drb_.size() + f_.size() + df_.size() + acc_.size() + pqr_.size() + core_dedr_.size() +
                   moments_.size() + adjoint_.size();
  size_t ints = mono_exp_.size() + mono_lower_.size() + basic_mu_.size() + basic_mono_.size() +
                basic_lower_.size() + target_.size() + target_begin_.size() + pull_order_.size() +
                pull_begin_.size() + active_.size() + active_type_.size() + by_mu_.size();
  return doubles * sizeof(double) + ints * sizeof(int) +
         (terms_.size() + pull_terms_.size()) * sizeof(Term);
}

void SiteEvaluator::grow(int n_pad) {
  if (n_pad <= capacity_) return;
  capacity_ = std::max(n_pad, (capacity_ + capacity_ / 2 + 3) / 4 * 4);
  const size_t c = capacity_;
  active_.resize(c);
  active_type_.resize(c);
  dist_.resize(c);
  unit_.resize(3 * c);
  powers_.resize(3 * size_t(max_nu_ + 1) * c);
  mono_.resize(size_t(n_mono_) * c);
  rb_.resize(size_t(n_basis_) * c);
  drb_.resize(size_t(n_basis_) * c);
  f_.resize(size_t(n_funcs_) * c);
  df_.resize(size_t(n_funcs_) * c);
  acc_.resize(5 * c);
  if (pot_.repulsive_core().enabled()) core_dedr_.resize(c);
  pqr_.resize(5 * size_t(n_funcs_) * c);
}

double SiteEvaluator::forward(int type, int n, const double* rij, const int* ntypes) {
  if (type < 0 || type >= n_species_)
    throw InputError("atom species index " + std::to_string(type) + " is outside 0.." +
                     std::to_string(n_species_ - 1));
  grow((n + 3) / 4 * 4);
  gather_neighbours(n, rij, ntypes);
  radial_basis_stage(type);
  radial_functions_stage(type);
  monomials_stage();
  basic_moments_stage();
  return program_stage(type);
}

// Neighbours inside the cutoff: active_, active_type_, dist_, unit_ (padded to np_ lanes).
void SiteEvaluator::gather_neighbours(int n, const double* rij, const int* ntypes) {
  const RadialBasis& basis = pot_.radial_basis();
  const double cutoff = basis.max_dist;
  int na = 0;
  double r2_min = cutoff * cutoff;
  for (int k = 0; k < n; ++k) {
    const double x = rij[3 * k], y = rij[3 * k + 1], z = rij[3 * k + 2];
    const double r2 = x * x + y * y + z * z;
    r2_min = std::min(r2_min, r2);
    if (!(r2 < cutoff * cutoff)) {
      if (!std::isfinite(r2))
        throw InputError("neighbour " + std::to_string(k) + " has a non-finite position");
      continue;
    }
    const int tj = ntypes[k];
    if (tj < 0 || tj >= n_species_)
      throw InputError("neighbour species index " + std::to_string(tj) + " is outside 0.." +
                       std::to_string(n_species_ - 1));
    if (r2 < 1e-16) throw InputError("two atoms coincide");
    active_[na] = k;
    active_type_[na] = tj;
    dist_[na] = std::sqrt(r2);
    ++na;
  }
  if (r2_min < basis.min_dist * basis.min_dist) {
    ++short_range_.sites;
    short_range_.closest = std::min(short_range_.closest, std::sqrt(r2_min));
  }
  const int np = (na + 3) / 4 * 4;  // stride: padded lanes hold harmless values
  na_ = na;
  np_ = np;
  for (int a = na; a < np; ++a) {
    active_type_[a] = 0;
    dist_[a] = cutoff;  // Q(cutoff) = 0: padded lanes have zero radial functions
  }
  double* ux = &unit_[0];
  double* uy = ux + np;
  double* uz = uy + np;
  for (int a = 0; a < na; ++a) {
    const double* v = rij + 3 * size_t(active_[a]);
    const double inv = 1.0 / dist_[a];
    ux[a] = v[0] * inv;
    uy[a] = v[1] * inv;
    uz[a] = v[2] * inv;
  }
  for (int a = na; a < np; ++a) ux[a] = uy[a] = uz[a] = 0.0;
}

// phi_beta(r) and its derivative for all neighbours (rb_, drb_), vectorised over neighbours.
void SiteEvaluator::radial_basis_stage(int type) {
  const RadialBasis& basis = pot_.radial_basis();
  const double cutoff = basis.max_dist;
  const int nbas = n_basis_, np = np_;
  // ---- radial basis phi_beta(r) for all neighbours, vectorised over neighbours -------------
  {
    const double inv_width = 1.0 / (basis.max_dist - basis.min_dist);
    const double dxi = 2.0 * inv_width, sc = basis.scaling;
    double* rb0 = &rb_[0];
    double* d0 = &drb_[0];
    double* xi = &acc_[0];     // scratch rows
    double* reff = &acc_[np];    // distance the basis is evaluated at: max(r, floor)
    double* below = &acc_[2 * size_t(np)];  // r - reff (<= 0): the linear continuation
    const bool floors = !basis.floor.empty();
    for (int a = 0; a < np; ++a) {
      const double fl = floors ? basis.floor[size_t(type) * n_species_ + active_type_[a]] : 0.0;
      reff[a] = std::max(dist_[a], fl);
      below[a] = dist_[a] - reff[a];
    }
    for (int a = 0; a < np; ++a) {
      const double r = reff[a];
      xi[a] = (2.0 * r - (basis.min_dist + basis.max_dist)) * inv_width;
      const double d = r - cutoff;
      rb0[a] = sc * d * d;
      d0[a] = 2.0 * sc * d;
    }
    if (nbas > 1) {
      double* rb1 = rb0 + np;
      double* d1 = d0 + np;
      for (int a = 0; a < np; ++a) {
        rb1[a] = xi[a] * rb0[a];
        d1[a] = dxi * rb0[a] + xi[a] * d0[a];
      }
    }
    for (int b = 2; b < nbas; ++b) {
      const double* v1 = rb0 + size_t(b - 1) * np;
      const double* v2 = rb0 + size_t(b - 2) * np;
      const double* e1 = d0 + size_t(b - 1) * np;
      const double* e2 = d0 + size_t(b - 2) * np;
      double* v = rb0 + size_t(b) * np;
      double* e = d0 + size_t(b) * np;
      for (int a = 0; a < np; ++a) {
        v[a] = 2.0 * xi[a] * v1[a] - v2[a];
        e[a] = 2.0 * (dxi * v1[a] + xi[a] * e1[a]) - e2[a];
      }
    }
    if (floors)  // phi(r) = phi(floor) + phi'(floor) (r - floor) below the floor
      for (int b = 0; b < nbas; ++b)
        for (int a = 0; a < np; ++a) rb0[size_t(b) * np + a] += d0[size_t(b) * np + a] * below[a];
  }
}

// f_mu = sum_beta C[type, t_j, mu, beta] phi_beta and f_mu' (f_, df_).
void SiteEvaluator::radial_functions_stage(int type) {
  const int nf = n_funcs_, nbas = n_basis_, na = na_, np = np_;
  const double* c = table_t_.data() + size_t(type) * n_species_ * nbas * nf;
  for (int mu = 0; mu < nf; ++mu)  // padded lanes: zero radial functions
    for (int a = na; a < np; ++a) f_[size_t(mu) * np + a] = df_[size_t(mu) * np + a] = 0.0;
  const int* t = active_type_.data();
  const double *rb = rb_.data(), *drb = drb_.data();
  double *f = f_.data(), *df = df_.data();
  switch (nf) {  // the radial-function count as a compile-time constant: accumulators in registers
    case 1: radial_functions_fixed<1>(c, t, rb, drb, na, np, nbas, f, df); break;
    case 2: radial_functions_fixed<2>(c, t, rb, drb, na, np, nbas, f, df); break;
    case 3: radial_functions_fixed<3>(c, t, rb, drb, na, np, nbas, f, df); break;
    case 4: radial_functions_fixed<4>(c, t, rb, drb, na, np, nbas, f, df); break;
    case 5: radial_functions_fixed<5>(c, t, rb, drb, na, np, nbas, f, df); break;
    case 6: radial_functions_fixed<6>(c, t, rb, drb, na, np, nbas, f, df); break;
    default:
      for (int a = 0; a < na; ++a) {
        const double* ca = c + size_t(t[a]) * nbas * nf;
        for (int mu = 0; mu < nf; ++mu) {
          double v = 0.0, d = 0.0;
          for (int b = 0; b < nbas; ++b) {
            v += ca[size_t(b) * nf + mu] * rb[size_t(b) * np + a];
            d += ca[size_t(b) * nf + mu] * drb[size_t(b) * np + a];
          }
          f[size_t(mu) * np + a] = v;
          df[size_t(mu) * np + a] = d;
        }
      }
  }
}

// Powers of the unit-vector components and the monomials rhat^(a,b,c) (mono_).
void SiteEvaluator::monomials_stage() {
  const int nm = n_mono_, np = np_;
  const int np1 = max_nu_ + 1;
  for (int ax = 0; ax < 3; ++ax) {
    const double* u = &unit_[size_t(ax) * np];
    double* p = &powers_[size_t(ax) * np1 * np];
    for (int a = 0; a < np; ++a) p[a] = 1.0;
    for (int k = 1; k <= max_nu_; ++k)
      for (int a = 0; a < np; ++a) p[size_t(k) * np + a] = p[size_t(k - 1) * np + a] * u[a];
  }
  for (int m = 0; m < nm; ++m) {
    const double* px = &powers_[size_t(mono_exp_[3 * m]) * np];
    const double* py = &powers_[(size_t(np1) + mono_exp_[3 * m + 1]) * np];
    const double* pz = &powers_[(size_t(2 * np1) + mono_exp_[3 * m + 2]) * np];
    double* out = &mono_[size_t(m) * np];
    for (int a = 0; a < np; ++a) out[a] = px[a] * py[a] * pz[a];
  }
}

// Basic moments M_{mu,nu} components: sum over neighbours of f_mu times a monomial.
void SiteEvaluator::basic_moments_stage() {
  const int n_basic = int(pot_.program().basic.size()), np = np_;
  // Dot products over neighbours, four moments at a time (independent accumulators keep the
  // FMA pipeline full).
  double* m = moments_.data();
  {
    int b = 0;
    for (; b + 4 <= n_basic; b += 4) {
      const double* f0 = &f_[size_t(basic_mu_[b]) * np];
      const double* f1 = &f_[size_t(basic_mu_[b + 1]) * np];
      const double* f2 = &f_[size_t(basic_mu_[b + 2]) * np];
      const double* f3 = &f_[size_t(basic_mu_[b + 3]) * np];
      const double* m0 = &mono_[size_t(basic_mono_[b]) * np];
      const double* m1 = &mono_[size_t(basic_mono_[b + 1]) * np];
      const double* m2 = &mono_[size_t(basic_mono_[b + 2]) * np];
      const double* m3 = &mono_[size_t(basic_mono_[b + 3]) * np];
      v4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
      for (int a = 0; a < np; a += 4) {
        s0 += load4(f0 + a) * load4(m0 + a);
        s1 += load4(f1 + a) * load4(m1 + a);
        s2 += load4(f2 + a) * load4(m2 + a);
        s3 += load4(f3 + a) * load4(m3 + a);
      }
      m[b] = hsum(s0);
      m[b + 1] = hsum(s1);
      m[b + 2] = hsum(s2);
      m[b + 3] = hsum(s3);
    }
    for (; b < n_basic; ++b) {
      const double* fr = &f_[size_t(basic_mu_[b]) * np];
      const double* mr = &mono_[size_t(basic_mono_[b]) * np];
      v4 s0 = {0, 0, 0, 0};
      for (int a = 0; a < np; a += 4) s0 += load4(fr + a) * load4(mr + a);
      m[b] = hsum(s0);
    }
  }
}

// Intermediate moments, the scalar basis functions and V_i (with the core's half pairs).
double SiteEvaluator::program_stage(int type) {
  const MomentProgram& prog = pot_.program();
  const int na = na_;
  double* m = moments_.data();
  const int n_targets = int(target_.size());
  // Two interleaved accumulators per target halve the FMA latency chain.
  for (int t = 0; t < n_targets; ++t) {
    double s0 = 0.0, s1 = 0.0;
    int q = target_begin_[t];
    const int end = target_begin_[t + 1];
    for (; q + 1 < end; q += 2) {
      s0 += terms_[q].mult * m[terms_[q].i] * m[terms_[q].j];
      s1 += terms_[q + 1].mult * m[terms_[q + 1].i] * m[terms_[q + 1].j];
    }
    if (q < end) s0 += terms_[q].mult * m[terms_[q].i] * m[terms_[q].j];
    m[target_[t]] = s0 + s1;
  }
  const std::vector<double>& xi = pot_.moment_coeffs();
  double energy = pot_.species_coeffs()[type];
  for (size_t al = 0; al < xi.size(); ++al) energy += xi[al] * m[prog.scalar_map[al]];
  const RepulsiveCore& core = pot_.repulsive_core();
  if (core.enabled())  // half of each pair's core energy; its slope is added in compute()
    for (int a = 0; a < na; ++a) {
      double dedr;
      energy += 0.5 * core.pair(type, active_type_[a], dist_[a], &dedr);
      core_dedr_[a] = 0.5 * dedr;
    }
  if (!std::isfinite(energy))
    throw InputError("site energy of a species-" + std::to_string(type) +
                     " atom is not finite (check positions and parameters)");
  return energy;
}

void SiteEvaluator::reverse_program() {
  const double* m = moments_.data();
  double* g = adjoint_.data();
  for (size_t o = 0; o < pull_order_.size(); ++o) {
    double s0 = seed_[pull_order_[o]], s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int q = pull_begin_[o];
    const int end = pull_begin_[o + 1];
    const Term* pt = pull_terms_.data();
    for (; q + 3 < end; q += 4) {
      s0 += pt[q].mult * g[pt[q].i] * m[pt[q].j];
      s1 += pt[q + 1].mult * g[pt[q + 1].i] * m[pt[q + 1].j];
      s2 += pt[q + 2].mult * g[pt[q + 2].i] * m[pt[q + 2].j];
      s3 += pt[q + 3].mult * g[pt[q + 3].i] * m[pt[q + 3].j];
    }
    for (; q < end; ++q) s0 += pt[q].mult * g[pt[q].i] * m[pt[q].j];
    g[pull_order_[o]] = (s0 + s1) + (s2 + s3);
  }
}

double SiteEvaluator::compute(int type, int n, const double* rij, const int* ntypes,
                              double* dv_drij, SiteGradient* grad) {
  if (dv_drij) std::fill(dv_drij, dv_drij + 3 * size_t(n), 0.0);
  const double energy = forward(type, n, rij, ntypes);
  const MomentProgram& prog = pot_.program();
  const std::vector<double>& xi = pot_.moment_coeffs();
  const double* m = moments_.data();
  if (grad) {
    grad->species[type] += 1.0;
    for (size_t al = 0; al < xi.size(); ++al) grad->moment[al] += m[prog.scalar_map[al]];
  }
  if (!dv_drij && !grad) return energy;

  reverse_program();  // pull form: adjoint[k] = dV/d moment k
  reverse_neighbours_stage(dv_drij != nullptr);
  if (dv_drij) pair_derivatives_stage(dv_drij);
  if (grad) radial_gradient_stage(type, grad);
  return energy;
}

// Per radial function mu: P = sum_b g_b mono_b, Q = sum_b g_b nu_b mono_b,
// R_ax = sum_b g_b e_ax(b) mono_{b - ax} (R only with forces), over basic moments b with
// mu_b = mu, four neighbours at a time, into pqr_.
void SiteEvaluator::reverse_neighbours_stage(bool forces) {
  const int nf = n_funcs_, np = np_;
  const double* g = adjoint_.data();
  for (int mu = 0; mu < nf; ++mu) {
    double* P = &pqr_[5 * size_t(mu) * np];
    double* Q = P + np;
    double* R0 = Q + np;
    double* R1 = R0 + np;
    double* R2 = R1 + np;
    const int* list = by_mu_.data() + by_mu_begin_[mu];
    const int count = by_mu_begin_[mu + 1] - by_mu_begin_[mu];
    for (int a = 0; a < np; a += 4) {
      v4 p = {0, 0, 0, 0}, q = p, r0 = p, r1 = p, r2 = p;
      for (int t = 0; t < count; ++t) {
        const int b = list[t];
        const double gb = g[b];
        const v4 mr = load4(&mono_[size_t(basic_mono_[b]) * np + a]);
        p += gb * mr;
        q += (gb * basic_nu_[b]) * mr;
        if (!forces) continue;
        const int* lo = &basic_lower_[3 * b];
        const double* lc = &basic_lower_coef_[3 * b];
        // Absent lower monomials have coefficient 0 and point at monomial 0 (harmless).
        r0 += (gb * lc[0]) * load4(&mono_[size_t(lo[0]) * np + a]);
        r1 += (gb * lc[1]) * load4(&mono_[size_t(lo[1]) * np + a]);
        r2 += (gb * lc[2]) * load4(&mono_[size_t(lo[2]) * np + a]);
      }
      store4(P + a, p);
      store4(Q + a, q);
      store4(R0 + a, r0);
      store4(R1 + a, r1);
      store4(R2 + a, r2);
    }
  }
}

// dV/dr_vec = A rhat + (Cvec - B rhat) / r with A = sum_mu f'_mu P_mu (+ the core's slope),
// B = sum_mu f_mu Q_mu, Cvec = sum_mu f_mu R_mu, into dv_drij (n, 3) at the active rows.
void SiteEvaluator::pair_derivatives_stage(double* dv_drij) {
  const int nf = n_funcs_, na = na_, np = np_;
  const double* ux = &unit_[0];
  const double* uy = ux + np;
  const double* uz = uy + np;
    double* A = &acc_[0];
    double* B = A + np;
    double* C0 = B + np;
    double* C1 = C0 + np;
    double* C2 = C1 + np;
    std::fill(acc_.begin(), acc_.begin() + 5 * size_t(np), 0.0);
    for (int mu = 0; mu < nf; ++mu) {
      if (!mu_used_[mu]) continue;
      const double* P = &pqr_[5 * size_t(mu) * np];
      const double* Q = P + np;
      const double* R0 = Q + np;
      const double* R1 = R0 + np;
      const double* R2 = R1 + np;
      const double* fr = &f_[size_t(mu) * np];
      const double* dfr = &df_[size_t(mu) * np];
      for (int a = 0; a < np; a += 4) {
        const v4 f4 = load4(fr + a);
        store4(A + a, load4(A + a) + load4(dfr + a) * load4(P + a));
        store4(B + a, load4(B + a) + f4 * load4(Q + a));
        store4(C0 + a, load4(C0 + a) + f4 * load4(R0 + a));
        store4(C1 + a, load4(C1 + a) + f4 * load4(R1 + a));
        store4(C2 + a, load4(C2 + a) + f4 * load4(R2 + a));
      }
    }
    if (pot_.repulsive_core().enabled())
      for (int a = 0; a < na; ++a) A[a] += core_dedr_[a];
    for (int a = 0; a < na; ++a) {
      const double inv = 1.0 / dist_[a];
      double* out = dv_drij + 3 * size_t(active_[a]);
      out[0] = A[a] * ux[a] + (C0[a] - B[a] * ux[a]) * inv;
      out[1] = A[a] * uy[a] + (C1[a] - B[a] * uy[a]) * inv;
      out[2] = A[a] * uz[a] + (C2[a] - B[a] * uz[a]) * inv;
    }
}

// dV/dC[type, t_j, mu, beta] = P_mu * phi_beta(r), accumulated into grad->radial.
void SiteEvaluator::radial_gradient_stage(int type, SiteGradient* grad) {
  const int nf = n_funcs_, nbas = n_basis_, na = na_, np = np_;
    // dV/dC[type, t_j, mu, beta] = P_mu * phi_beta(r)
    double* dc_type = grad->radial.data() + size_t(type) * n_species_ * nf * nbas;
    for (int a = 0; a < na; ++a) {
      double* dc = dc_type + size_t(active_type_[a]) * nf * nbas;
      for (int mu = 0; mu < nf; ++mu) {
        const double s = pqr_[5 * size_t(mu) * np + a];
        for (int b = 0; b < nbas; ++b) dc[mu * nbas + b] += s * rb_[size_t(b) * np + a];
      }
    }
}

std::vector<std::pair<std::string, double>> SiteEvaluator::profile(int type, int n, const double* rij,
                                                                   const int* ntypes, int repeats) {
  using clock = std::chrono::steady_clock;
  std::vector<double> dv(3 * size_t(n));
  compute(type, n, rij, ntypes, dv.data(), nullptr);  // warm up, sizes scratch
  const char* names[] = {"neighbours", "radial basis", "radial functions", "monomials", "basic moments",
                         "program forward", "program reverse", "reverse over neighbours", "pair derivatives"};
  double seconds[9] = {0};
  volatile double sink = 0.0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = clock::now();
    auto lap = [&](int k) {
      const auto t1 = clock::now();
      seconds[k] += std::chrono::duration<double>(t1 - t0).count();
      t0 = t1;
    };
    gather_neighbours(n, rij, ntypes);
    lap(0);
    radial_basis_stage(type);
    lap(1);
    radial_functions_stage(type);
    lap(2);
    monomials_stage();
    lap(3);
    basic_moments_stage();
    lap(4);
    sink = sink + program_stage(type);
    lap(5);
    reverse_program();
    lap(6);
    reverse_neighbours_stage(true);
    lap(7);
    std::fill(dv.begin(), dv.end(), 0.0);
    pair_derivatives_stage(dv.data());
    lap(8);
  }
  std::vector<std::pair<std::string, double>> out;
  for (int k = 0; k < 9; ++k) out.emplace_back(names[k], seconds[k] / repeats);
  return out;
}

}  // namespace mtp
