#include "mtp/potential.h"

#include <cmath>
#include <string>

#include "mtp/errors.h"

namespace mtp {

Potential::Potential(RadialBasis basis, RadialCoeffs radial, MomentProgram program,
                     std::vector<double> species_coeffs, std::vector<double> moment_coeffs,
                     std::vector<std::string> species_names, std::string name, bool trained)
    : basis_(basis),
      radial_(std::move(radial)),
      program_(std::move(program)),
      species_coeffs_(std::move(species_coeffs)),
      moment_coeffs_(std::move(moment_coeffs)),
      species_names_(std::move(species_names)),
      name_(std::move(name)),
      trained_(trained) {
  basis_.validate();
  const RadialShape& s = radial_.shape();
  if (s.n_basis != basis_.size)
    throw InputError("potential: radial coefficients have " + std::to_string(s.n_basis) +
                     " Chebyshev terms but radial_basis_size = " + std::to_string(basis_.size));
  program_.validate(s.n_funcs);
  if (int(species_coeffs_.size()) != s.n_species)
    throw InputError("potential: " + std::to_string(species_coeffs_.size()) +
                     " species_coeffs for species_count = " + std::to_string(s.n_species));
  if (moment_coeffs_.size() != program_.scalar_map.size())
    throw InputError("potential: " + std::to_string(moment_coeffs_.size()) +
                     " moment_coeffs for alpha_scalar_moments = " +
                     std::to_string(program_.scalar_map.size()));
  if (!species_names_.empty() && int(species_names_.size()) != s.n_species)
    throw InputError("potential: " + std::to_string(species_names_.size()) +
                     " species names for species_count = " + std::to_string(s.n_species));
  for (size_t i = 0; i < species_coeffs_.size(); ++i)
    if (!std::isfinite(species_coeffs_[i]))
      throw InputError("potential: species_coeffs[" + std::to_string(i) + "] is not finite");
  for (size_t i = 0; i < moment_coeffs_.size(); ++i)
    if (!std::isfinite(moment_coeffs_[i]))
      throw InputError("potential: moment_coeffs[" + std::to_string(i) + "] is not finite");
}

}  // namespace mtp
