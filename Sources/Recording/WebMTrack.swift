/// One track of a WebM recording: VP8 video with its picture size, or Opus audio (RFC 7845's OpusHead as the
/// codec's private data).
public struct WebMTrack: Sendable, Equatable {
    public enum Codec: Sendable, Equatable {
        case vp8(width: Int, height: Int)
        case opus(channels: Int)
    }

    /// 1, 2, ... within the file.
    public var number: Int
    public var codec: Codec

    public init(number: Int, codec: Codec) {
        self.number = number
        self.codec = codec
    }

    /// Opus' pre-skip that WebRTC encoders use (RFC 7845 §4.2: 3.75 ms... in practice 312 samples at 48 kHz).
    static let opusPreSkip: UInt16 = 312

    /// The OpusHead packet (RFC 7845 §5.1): version 1, channels, pre-skip, 48 kHz, no gain, mapping family 0.
    static func opusHead(channels: Int) -> [UInt8] {
        var head = Array("OpusHead".utf8)
        head.append(1)
        head.append(UInt8(channels))
        head.append(UInt8(opusPreSkip & 0xFF))
        head.append(UInt8(opusPreSkip >> 8))
        head.append(contentsOf: [0x80, 0xBB, 0x00, 0x00])  // 48000, little-endian
        head.append(contentsOf: [0x00, 0x00, 0x00])        // output gain 0, channel mapping family 0
        return head
    }

    func write(to buffer: inout EBMLBuffer) {
        buffer.master(MatroskaID.trackEntry) { entry in
            entry.unsigned(MatroskaID.trackNumber, UInt64(number))
            entry.unsigned(MatroskaID.trackUID, UInt64(number))
            entry.unsigned(MatroskaID.flagLacing, 0)
            switch codec {
            case .vp8(let width, let height):
                entry.unsigned(MatroskaID.trackType, 1)
                entry.string(MatroskaID.codecID, "V_VP8")
                entry.master(MatroskaID.video) { video in
                    video.unsigned(MatroskaID.pixelWidth, UInt64(width))
                    video.unsigned(MatroskaID.pixelHeight, UInt64(height))
                }
            case .opus(let channels):
                entry.unsigned(MatroskaID.trackType, 2)
                entry.string(MatroskaID.codecID, "A_OPUS")
                entry.binary(MatroskaID.codecPrivate, Self.opusHead(channels: channels))
                // Pre-skip in nanoseconds, and the 80 ms of decoding a seek needs (the WebM Opus mapping).
                entry.unsigned(MatroskaID.codecDelay, UInt64(Self.opusPreSkip) * 1_000_000_000 / 48_000)
                entry.unsigned(MatroskaID.seekPreRoll, 80_000_000)
                entry.master(MatroskaID.audio) { audio in
                    audio.float(MatroskaID.samplingFrequency, 48_000)
                    audio.unsigned(MatroskaID.channels, UInt64(channels))
                }
            }
        }
    }
}
