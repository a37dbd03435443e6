// Thin shim over libopus for recordings: opus_encoder_ctl is variadic with macro requests, which Swift cannot call.
#ifndef SABHA_COPUS_SHIM_H
#define SABHA_COPUS_SHIM_H

#include <opus.h>

/// Sets an encoder's bit rate (bit/s); an Opus error code.
static inline int sabha_opus_set_bitrate(OpusEncoder *encoder, int bitrate) {
    return opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitrate));
}

/// The encoder's look-ahead in samples (what a file's pre-skip must say); negative on an error.
static inline int sabha_opus_lookahead(OpusEncoder *encoder) {
    opus_int32 samples = 0;
    return opus_encoder_ctl(encoder, OPUS_GET_LOOKAHEAD(&samples)) == OPUS_OK ? (int)samples : -1;
}

#endif
