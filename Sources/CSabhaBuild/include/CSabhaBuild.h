#ifndef C_SABHA_BUILD_H
#define C_SABHA_BUILD_H

/// The git commit the binary was built from (SABHA_BUILD_COMMIT when `swift build` ran; Package.swift passes it in
/// as a C define because Swift defines carry no values), or "" when it was not given.
const char *sabha_build_commit(void);

#endif
