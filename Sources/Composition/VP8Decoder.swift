import CVPX

/// libvpx's VP8 decoder for one track. A frame that does not decode (a file cut after a loss) is skipped, and the
/// picture before it stays.
final class VP8Decoder {
    private var codec = vpx_codec_ctx_t()
    private let ready: Bool

    init() {
        ready = sabha_vp8_decoder_init(&codec) == 0
    }

    deinit {
        if ready { vpx_codec_destroy(&codec) }
    }

    /// Decodes `frame` into `picture`; false when it shows nothing new (an error, or a frame not to be shown).
    func decode(_ frame: [UInt8], into picture: Picture) -> Bool {
        guard ready, !frame.isEmpty else { return false }
        var status: Int32 = 0
        let image = frame.withUnsafeBufferPointer { sabha_vp8_decode(&codec, $0.baseAddress!, $0.count, &status) }
        guard status == 0, let image, image.pointee.fmt == VPX_IMG_FMT_I420 else { return false }
        picture.copy(from: image)
        return true
    }
}
