// System-call wrappers for booting (kexec, reboot, mount, modules, memfd, block ioctls).
// Owned by the boot work (issue 4); filled in there.
#define _GNU_SOURCE
#include "addon.h"

void tendril_register_sys(napi_env env, napi_value exports) { (void)env; (void)exports; }
