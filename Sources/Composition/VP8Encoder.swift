import CVPX

/// libvpx's VP8 encoder for the composed picture: real-time speed settings, a keyframe at least every `keyframeEvery`
/// frames so that a player can seek in the file.
final class VP8Encoder {
    private var codec = vpx_codec_ctx_t()
    private var image = vpx_image_t()
    private var output = [UInt8](repeating: 0, count: 4 << 20)
    let width: Int
    let height: Int

    init(width: Int, height: Int, fps: Int, kbps: Int, keyframeEvery: Int) throws(CompositionError) {
        self.width = width
        self.height = height
        guard sabha_vp8_encoder_init(&codec, Int32(width), Int32(height), Int32(fps), Int32(kbps), Int32(keyframeEvery)) == 0 else {
            throw .codec("libvpx refused a \(width)x\(height) VP8 encoder")
        }
    }

    deinit { vpx_codec_destroy(&codec) }

    /// Encodes one I420 picture (`width`x`height`, rows without padding) as frame number `index`.
    func encode(_ pixels: inout [UInt8], index: Int64) throws(CompositionError) -> (bytes: [UInt8], keyframe: Bool) {
        var isKey: Int32 = 0
        let size = pixels.withUnsafeMutableBufferPointer { buffer in
            _ = vpx_img_wrap(&image, VPX_IMG_FMT_I420, UInt32(width), UInt32(height), 1, buffer.baseAddress!)
            return output.withUnsafeMutableBufferPointer { out in
                sabha_vp8_encode(&codec, &image, index, 0, out.baseAddress!, out.count, &isKey)
            }
        }
        guard size >= 0 else { throw .codec("libvpx could not encode frame \(index) (\(size))") }
        return (Array(output[0..<size]), isKey != 0)
    }
}
