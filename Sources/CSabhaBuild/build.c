#include "CSabhaBuild.h"

#ifndef SABHA_BUILD_COMMIT
#define SABHA_BUILD_COMMIT ""
#endif

const char *sabha_build_commit(void) { return SABHA_BUILD_COMMIT; }
