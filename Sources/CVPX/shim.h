// Thin shims over libvpx's VP8 encoder and decoder for recordings: vpx_codec_enc_init/dec_init and the control
// calls are macros, and encoder output is a union, none of which Swift imports.
#ifndef SABHA_CVPX_SHIM_H
#define SABHA_CVPX_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

/// A VP8 encoder for `width`x`height` I420 pictures at `kbps`, a keyframe every `keyframe_interval` frames
/// (0: only when asked), good quality in real time. 0 on success.
static inline int sabha_vp8_encoder_init(vpx_codec_ctx_t *codec, int width, int height, int fps, int kbps, int keyframe_interval) {
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) return -1;
    cfg.g_w = (unsigned)width;
    cfg.g_h = (unsigned)height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.g_lag_in_frames = 0;
    cfg.rc_end_usage = VPX_VBR;
    cfg.rc_target_bitrate = (unsigned)kbps;
    cfg.kf_mode = keyframe_interval > 0 ? VPX_KF_AUTO : VPX_KF_DISABLED;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = (unsigned)(keyframe_interval > 0 ? keyframe_interval : 0);
    if (vpx_codec_enc_init(codec, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) return -1;
    vpx_codec_control(codec, VP8E_SET_CPUUSED, 8);
    return 0;
}

/// Encodes `image`; appends the compressed frame(s) to `out` (up to `capacity`). Returns the bytes written, -1 on an
/// error, -2 when `capacity` is too small. `*is_key` tells a keyframe.
static inline long sabha_vp8_encode(vpx_codec_ctx_t *codec, const vpx_image_t *image, int64_t pts, int force_key,
                                    uint8_t *out, size_t capacity, int *is_key) {
    if (vpx_codec_encode(codec, image, pts, 1, force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME) != VPX_CODEC_OK) return -1;
    vpx_codec_iter_t iter = NULL;
    const vpx_codec_cx_pkt_t *packet;
    size_t size = 0;
    *is_key = 0;
    while ((packet = vpx_codec_get_cx_data(codec, &iter)) != NULL) {
        if (packet->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        if (size + packet->data.frame.sz > capacity) return -2;
        memcpy(out + size, packet->data.frame.buf, packet->data.frame.sz);
        size += packet->data.frame.sz;
        if (packet->data.frame.flags & VPX_FRAME_IS_KEY) *is_key = 1;
    }
    return (long)size;
}

/// A VP8 decoder. 0 on success.
static inline int sabha_vp8_decoder_init(vpx_codec_ctx_t *codec) {
    return vpx_codec_dec_init(codec, vpx_codec_vp8_dx(), NULL, 0) == VPX_CODEC_OK ? 0 : -1;
}

/// Decodes one frame; the picture (or NULL when the frame shows none, or on an error: `*status` says) stays valid
/// until the next call.
static inline vpx_image_t *sabha_vp8_decode(vpx_codec_ctx_t *codec, const uint8_t *data, size_t size, int *status) {
    if (vpx_codec_decode(codec, data, (unsigned int)size, NULL, 0) != VPX_CODEC_OK) {
        *status = -1;
        return NULL;
    }
    *status = 0;
    vpx_codec_iter_t iter = NULL;
    return vpx_codec_get_frame(codec, &iter);
}

#endif
