// Thin shim over libopus: opus_encoder_ctl is variadic with macro requests, which Swift cannot call.
#ifndef LOADGEN_COPUS_SHIM_H
#define LOADGEN_COPUS_SHIM_H

#include <opus.h>

/// A 48 kHz stereo Opus encoder at `bitrate` bit/s; NULL on failure (`*error` holds the Opus error).
static inline OpusEncoder *loadgen_opus_encoder_create(int bitrate, int *error) {
    OpusEncoder *encoder = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, error);
    if (encoder) opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bitrate));
    return encoder;
}

#endif
