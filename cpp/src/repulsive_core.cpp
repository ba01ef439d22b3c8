#include "mtp/repulsive_core.h"

#include <string>

#include "mtp/errors.h"

namespace mtp {

void RepulsiveCore::validate(int n_species, double cutoff) const {
  if (!enabled()) {
    if (!inner.empty() || !outer.empty())
      throw InputError("repulsive core: core_inner/core_outer given without core_atomic_numbers");
    return;
  }
  const size_t nn = size_t(n_species) * n_species;
  if (int(atomic_numbers.size()) != n_species)
    throw InputError("repulsive core: " + std::to_string(atomic_numbers.size()) +
                     " atomic numbers for species_count = " + std::to_string(n_species));
  for (int z : atomic_numbers)
    if (z < 1 || z > 118) throw InputError("repulsive core: atomic number " + std::to_string(z) + " is not in 1..118");
  if (inner.size() != nn || outer.size() != nn)
    throw InputError("repulsive core: core_inner and core_outer need species_count^2 = " + std::to_string(nn) +
                     " entries each, got " + std::to_string(inner.size()) + " and " + std::to_string(outer.size()));
  for (int a = 0; a < n_species; ++a)
    for (int b = 0; b < n_species; ++b) {
      const size_t ab = size_t(a) * n_species + b, ba = size_t(b) * n_species + a;
      const std::string pair = "species pair " + std::to_string(a) + "-" + std::to_string(b);
      if (!(std::isfinite(inner[ab]) && std::isfinite(outer[ab]) && inner[ab] >= 0.0 && inner[ab] < outer[ab]))
        throw InputError("repulsive core: " + pair + " needs 0 <= core_inner < core_outer, got " +
                         std::to_string(inner[ab]) + ", " + std::to_string(outer[ab]));
      if (!(outer[ab] <= cutoff))
        throw InputError("repulsive core: " + pair + " has core_outer " + std::to_string(outer[ab]) +
                         " beyond the cutoff " + std::to_string(cutoff));
      if (inner[ab] != inner[ba] || outer[ab] != outer[ba])
        throw InputError("repulsive core: core_inner/core_outer must be symmetric (" + pair + ")");
    }
}

}  // namespace mtp
