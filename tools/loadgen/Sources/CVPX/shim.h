// Thin shims over libvpx's VP8 encoder: its init and control calls are macros, and its output packets are
// a union, neither of which Swift imports. One encoder, I420 input, whole frames out.
#ifndef LOADGEN_CVPX_SHIM_H
#define LOADGEN_CVPX_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct loadgen_vp8_encoder {
    vpx_codec_ctx_t codec;
    vpx_image_t image;
} loadgen_vp8_encoder;

/// A real-time CBR VP8 encoder (no lag, keyframes only when asked). NULL on failure.
static inline loadgen_vp8_encoder *loadgen_vp8_encoder_create(int width, int height, int fps, int kbps, int threads) {
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) return NULL;
    cfg.g_w = (unsigned)width;
    cfg.g_h = (unsigned)height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.g_threads = (unsigned)threads;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)kbps;
    cfg.rc_min_quantizer = 2;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.kf_mode = VPX_KF_DISABLED;
    loadgen_vp8_encoder *encoder = (loadgen_vp8_encoder *)calloc(1, sizeof(loadgen_vp8_encoder));
    if (!encoder) return NULL;
    if (vpx_codec_enc_init(&encoder->codec, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
        free(encoder);
        return NULL;
    }
    vpx_codec_control(&encoder->codec, VP8E_SET_CPUUSED, 12);
    vpx_codec_control(&encoder->codec, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900);
    if (!vpx_img_alloc(&encoder->image, VPX_IMG_FMT_I420, (unsigned)width, (unsigned)height, 16)) {
        vpx_codec_destroy(&encoder->codec);
        free(encoder);
        return NULL;
    }
    return encoder;
}

/// The input picture's plane 0 (Y), 1 (U) or 2 (V) and its stride.
static inline uint8_t *loadgen_vp8_plane(loadgen_vp8_encoder *encoder, int plane, int *stride) {
    *stride = encoder->image.stride[plane];
    return encoder->image.planes[plane];
}

/// Encodes the input picture; copies the compressed frame into `out`. Returns its size, 0 when the encoder
/// dropped the frame, -1 on error, -2 when `capacity` is too small. `*is_key` tells a keyframe.
static inline long loadgen_vp8_encode(loadgen_vp8_encoder *encoder, int64_t pts, int force_key,
                                      uint8_t *out, size_t capacity, int *is_key) {
    vpx_enc_frame_flags_t flags = force_key ? VPX_EFLAG_FORCE_KF : 0;
    if (vpx_codec_encode(&encoder->codec, &encoder->image, pts, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) return -1;
    vpx_codec_iter_t iter = NULL;
    const vpx_codec_cx_pkt_t *packet;
    size_t size = 0;
    *is_key = 0;
    while ((packet = vpx_codec_get_cx_data(&encoder->codec, &iter)) != NULL) {
        if (packet->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        if (size + packet->data.frame.sz > capacity) return -2;
        memcpy(out + size, packet->data.frame.buf, packet->data.frame.sz);
        size += packet->data.frame.sz;
        if (packet->data.frame.flags & VPX_FRAME_IS_KEY) *is_key = 1;
    }
    return (long)size;
}

static inline void loadgen_vp8_encoder_destroy(loadgen_vp8_encoder *encoder) {
    if (!encoder) return;
    vpx_img_free(&encoder->image);
    vpx_codec_destroy(&encoder->codec);
    free(encoder);
}

#endif
