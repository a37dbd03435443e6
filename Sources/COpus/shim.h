// Thin shim over libopus for recordings: opus_encoder_ctl is variadic with macro requests, which Swift cannot call.
#ifndef SABHA_COPUS_SHIM_H
#define SABHA_COPUS_SHIM_H

#include <opus.h>

/// Sets an encoder's bit rate (bit/s); an Opus error code.
static inline int sabha_opus_set_bitrate(OpusEncoder *encoder, int bitrate) {
    return opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitrate));
}

#endif
