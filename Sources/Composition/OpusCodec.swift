import COpus

/// libopus for composition: a decoder per recorded audio track (mono out: a stereo stream is mixed down by libopus),
/// and the encoder of the mixed meeting, mono at 48 kHz in 20 ms frames.
enum OpusCodec {
    static let sampleRate = 48_000
    /// 20 ms at 48 kHz.
    static let frameSamples = 960
    /// The longest Opus packet: 120 ms.
    static let maximumFrameSamples = 5_760

    final class Decoder {
        private let decoder: OpaquePointer
        private var pcm = [Int16](repeating: 0, count: OpusCodec.maximumFrameSamples)

        init() throws(CompositionError) {
            var error: Int32 = 0
            guard let decoder = opus_decoder_create(Int32(OpusCodec.sampleRate), 1, &error), error == OPUS_OK else {
                throw .codec("libopus refused a decoder (\(error))")
            }
            self.decoder = decoder
        }

        deinit { opus_decoder_destroy(decoder) }

        /// The samples of one packet; empty when it does not decode.
        func decode(_ packet: [UInt8]) -> ArraySlice<Int16> {
            guard !packet.isEmpty else { return [] }
            let count = packet.withUnsafeBufferPointer { input in
                pcm.withUnsafeMutableBufferPointer { opus_decode(decoder, input.baseAddress, Int32(input.count), $0.baseAddress!, Int32($0.count), 0) }
            }
            return count > 0 ? pcm[0..<Int(count)] : []
        }
    }

    final class Encoder {
        private let encoder: OpaquePointer
        private var output = [UInt8](repeating: 0, count: 4_000)
        /// Samples the encoder holds back: the pre-skip a file must declare.
        let lookahead: Int

        init(bitrate: Int) throws(CompositionError) {
            var error: Int32 = 0
            guard let encoder = opus_encoder_create(Int32(OpusCodec.sampleRate), 1, OPUS_APPLICATION_AUDIO, &error), error == OPUS_OK else {
                throw .codec("libopus refused an encoder (\(error))")
            }
            self.encoder = encoder
            _ = sabha_opus_set_bitrate(encoder, Int32(bitrate))
            lookahead = max(0, Int(sabha_opus_lookahead(encoder)))
        }

        deinit { opus_encoder_destroy(encoder) }

        /// Encodes exactly `frameSamples` samples.
        func encode(_ samples: [Int16]) throws(CompositionError) -> [UInt8] {
            precondition(samples.count == OpusCodec.frameSamples)
            let size = opus_encode(encoder, samples, Int32(samples.count), &output, Int32(output.count))
            guard size > 0 else { throw .codec("libopus could not encode (\(size))") }
            return Array(output[0..<Int(size)])
        }
    }
}
