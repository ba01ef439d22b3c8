// Potential files.
//  * MLIP-2 `.mtp` and MLIP-3 `.almtp` (version 1.1.0), trained or untrained. Parsing stops at
//    an `#MVS_v1.1` line: what follows is MLIP-3's binary active-learning state.
//  * mtp-lowrank's extension for factorized radial coefficients (see docs/file_format.md):
//    `lowrank_version = 1`, optional `species = <symbols>`, and inside the radial basis block
//    `radial_coeffs_format = mf|tt` followed by the factors instead of `radial_coeffs`.
// Every error names the file and line.
#pragma once
#include <iosfwd>
#include <string>

#include "mtp/potential.h"

namespace mtp {

Potential read_potential(const std::string& path);
Potential parse_potential(std::istream& in, const std::string& source_name);

// Full potentials are written MLIP-compatibly unless `with_species` asks for our species line
// (mf/tt files always carry it when the names are known). Numbers are written with %.17g, so
// reading the file back gives bit-identical parameters.
void write_potential(const Potential& pot, std::ostream& out, bool with_species);
void write_potential(const Potential& pot, const std::string& path, bool with_species);

}  // namespace mtp
