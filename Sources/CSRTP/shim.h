#ifndef SABHA_CSRTP_SHIM_H
#define SABHA_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#endif
