// Registers pair_style mtp/lowrank with LAMMPS' `plugin load`.
#include "lammps.h"
#include "lammpsplugin_api.h"
#include "pair_mtp_lowrank.h"

using namespace LAMMPS_NS;

static Pair *mtp_lowrank_creator(LAMMPS *lmp) { return new PairMTPLowRank(lmp); }

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc) {
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc)regfunc;
  plugin.version = static_cast<LAMMPS *>(lmp)->version;  // the running LAMMPS' own version
  plugin.style = "pair";
  plugin.name = "mtp/lowrank";
  plugin.info = "Moment Tensor Potential with full/MF/TT radial coefficients (mtp-lowrank)";
  plugin.author = "mtp-lowrank developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *)&mtp_lowrank_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
