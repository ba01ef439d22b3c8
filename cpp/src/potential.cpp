#include "mtp/potential.h"

#include <cmath>
#include <string>

#include "mtp/errors.h"

namespace mtp {

Potential::Potential(RadialBasis basis, RadialCoeffs radial, MomentProgram program,
                     std::vector<double> species_coeffs, std::vector<double> moment_coeffs,
                     PotentialLabels labels, bool trained, RepulsiveCore core)
    : basis_(basis),
      radial_(std::move(radial)),
      program_(std::move(program)),
      species_coeffs_(std::move(species_coeffs)),
      moment_coeffs_(std::move(moment_coeffs)),
      labels_(std::move(labels)),
      trained_(trained),
      core_(std::move(core)) {
  basis_.validate();
  core_.validate(radial_.shape().n_species, basis_.max_dist);
  const RadialShape& s = radial_.shape();
  if (s.n_basis != basis_.size)
    throw InputError("potential: radial coefficients have " + std::to_string(s.n_basis) +
                     " Chebyshev terms but radial_basis_size = " + std::to_string(basis_.size));
  program_.validate(s.n_funcs);
  if (!basis_.floor.empty()) {
    if (basis_.floor.size() != size_t(s.n_species) * s.n_species)
      throw InputError("potential: radial_floor has " + std::to_string(basis_.floor.size()) +
                       " entries, expected species_count^2 = " + std::to_string(s.n_species * s.n_species));
    for (double f : basis_.floor)
      if (!std::isfinite(f) || f < 0.0 || f >= basis_.max_dist)
        throw InputError("potential: radial_floor entries must be in [0, max_dist), got " + std::to_string(f));
  }
  if (int(species_coeffs_.size()) != s.n_species)
    throw InputError("potential: " + std::to_string(species_coeffs_.size()) +
                     " species_coeffs for species_count = " + std::to_string(s.n_species));
  if (moment_coeffs_.size() != program_.scalar_map.size())
    throw InputError("potential: " + std::to_string(moment_coeffs_.size()) +
                     " moment_coeffs for alpha_scalar_moments = " +
                     std::to_string(program_.scalar_map.size()));
  const auto& names = labels_.species_names;
  if (!names.empty() && int(names.size()) != s.n_species)
    throw InputError("potential: " + std::to_string(names.size()) +
                     " species names for species_count = " + std::to_string(s.n_species));
  for (size_t a = 0; a < names.size(); ++a)
    for (size_t b = 0; b < a; ++b)
      if (names[a] == names[b]) throw InputError("potential: species " + names[a] + " is named twice");
  auto& types = labels_.mlip_types;
  if (types.empty())
    for (int a = 0; a < s.n_species; ++a) types.push_back(a);
  if (int(types.size()) != s.n_species)
    throw InputError("potential: " + std::to_string(types.size()) +
                     " MLIP type numbers for species_count = " + std::to_string(s.n_species));
  for (size_t a = 0; a < types.size(); ++a) {
    if (types[a] < 0)
      throw InputError("potential: MLIP type number " + std::to_string(types[a]) + " is negative");
    for (size_t b = 0; b < a; ++b)
      if (types[a] == types[b])
        throw InputError("potential: MLIP type number " + std::to_string(types[a]) + " is given to two species");
  }
  for (size_t i = 0; i < species_coeffs_.size(); ++i)
    if (!std::isfinite(species_coeffs_[i]))
      throw InputError("potential: species_coeffs[" + std::to_string(i) + "] is not finite");
  for (size_t i = 0; i < moment_coeffs_.size(); ++i)
    if (!std::isfinite(moment_coeffs_[i]))
      throw InputError("potential: moment_coeffs[" + std::to_string(i) + "] is not finite");
}

bool Potential::default_mlip_types() const {
  for (size_t a = 0; a < labels_.mlip_types.size(); ++a)
    if (labels_.mlip_types[a] != int(a)) return false;
  return true;
}

}  // namespace mtp
