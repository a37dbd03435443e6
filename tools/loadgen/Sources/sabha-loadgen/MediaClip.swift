import COpus
import CVPX
import Foundation

/// One compressed video frame of the clip.
struct EncodedFrame {
    var data: [UInt8]
    var isKey: Bool
}

/// VP8 encoded once at start from a synthetic moving picture, replayed in a loop by every publisher.
/// Frame 0 is a keyframe and the only one, so every loop (and every answer to a PLI) restarts at a keyframe.
struct VideoClip {
    var width: Int
    var height: Int
    var fps: Int
    var frames: [EncodedFrame]

    var averageKbps: Double {
        let bytes = frames.reduce(0) { $0 + $1.data.count }
        return Double(bytes * 8) * Double(fps) / Double(max(frames.count, 1)) / 1000
    }
    var keyframeBytes: Int { frames.first?.data.count ?? 0 }
    var packetCount: Int {
        frames.reduce(0) { $0 + ($1.data.count + Publisher.maxVP8DataPerPacket - 1) / Publisher.maxVP8DataPerPacket }
    }

    static let formatVersion = 1

    /// Cache file: per frame a 4-byte big-endian length with the top bit set for a keyframe, then the frame.
    func save(path: String) {
        var bytes: [UInt8] = []
        for frame in frames {
            let word = UInt32(frame.data.count) | (frame.isKey ? 0x8000_0000 : 0)
            bytes += [UInt8(word >> 24), UInt8((word >> 16) & 0xFF), UInt8((word >> 8) & 0xFF), UInt8(word & 0xFF)]
            bytes += frame.data
        }
        guard FileManager.default.createFile(atPath: path + ".tmp", contents: Data(bytes)) else { return }
        _ = try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.moveItem(atPath: path + ".tmp", toPath: path)
    }

    static func load(path: String, width: Int, height: Int, fps: Int) -> VideoClip? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        var frames: [EncodedFrame] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let word = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
            let size = Int(word & 0x7FFF_FFFF)
            offset += 4
            guard size > 0, offset + size <= bytes.count else { return nil }
            frames.append(EncodedFrame(data: Array(bytes[offset..<(offset + size)]), isKey: word & 0x8000_0000 != 0))
            offset += size
        }
        guard offset == bytes.count, frames.first?.isKey == true else { return nil }
        return VideoClip(width: width, height: height, fps: fps, frames: frames)
    }

    static func encode(width: Int, height: Int, fps: Int, kbps: Int, frameCount: Int) throws -> VideoClip {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw LoadgenError.configuration("video size \(width)x\(height) must be positive and even")
        }
        guard let encoder = loadgen_vp8_encoder_create(Int32(width), Int32(height), Int32(fps), Int32(kbps), 2) else {
            throw LoadgenError.media("libvpx refused a \(width)x\(height) \(fps) fps \(kbps) kbit/s VP8 encoder")
        }
        defer { loadgen_vp8_encoder_destroy(encoder) }
        var output = [UInt8](repeating: 0, count: width * height * 2 + 65_536)
        var frames: [EncodedFrame] = []
        var noise = XorShift(seed: 0x5AB4A)
        for index in 0..<frameCount {
            SyntheticPicture.draw(into: encoder, width: width, height: height, frame: index, noise: &noise)
            var isKey: Int32 = 0
            let size = output.withUnsafeMutableBufferPointer {
                loadgen_vp8_encode(encoder, Int64(index), index == 0 ? 1 : 0, $0.baseAddress, $0.count, &isKey)
            }
            guard size >= 0 else { throw LoadgenError.media("libvpx failed on frame \(index) (\(size))") }
            guard size > 0 else { continue }  // dropped by rate control: the clip is simply one frame shorter
            frames.append(EncodedFrame(data: Array(output[0..<size]), isKey: isKey != 0))
        }
        guard let first = frames.first, first.isKey else { throw LoadgenError.media("libvpx did not start with a keyframe") }
        return VideoClip(width: width, height: height, fps: fps, frames: frames)
    }
}

/// Draws frame `frame` of the synthetic scene into the encoder's input picture: a diagonal pattern that
/// scrolls, a bright square that crosses the picture, and fresh low-amplitude noise on every frame so that the
/// encoder has to spend its bit budget (a clean moving pattern compresses to almost nothing).
enum SyntheticPicture {
    static func draw(into encoder: UnsafeMutablePointer<loadgen_vp8_encoder>, width: Int, height: Int, frame: Int, noise: inout XorShift) {
        var stride: Int32 = 0
        let y = loadgen_vp8_plane(encoder, 0, &stride)!
        let yStride = Int(stride)
        let boxSize = height / 4
        let boxX = (frame * 12) % max(width - boxSize, 1)
        let boxY = (height - boxSize) / 2 + Int(Double(height / 4) * sinApprox(Double(frame) / 15))
        for row in 0..<height {
            let line = y + row * yStride
            let inBoxRow = row >= boxY && row < boxY + boxSize
            for column in 0..<width {
                var value = ((column + row + frame * 4) & 0xFF) / 2 + 64
                if inBoxRow && column >= boxX && column < boxX + boxSize { value = 235 }
                value += Int(noise.next() & 0x0F) - 8
                line[column] = UInt8(clamping: value)
            }
        }
        for plane in 1...2 {
            let p = loadgen_vp8_plane(encoder, Int32(plane), &stride)!
            let base = plane == 1 ? 128 + (frame % 60) - 30 : 128 - (frame % 60) + 30
            for row in 0..<(height / 2) {
                let line = p + row * Int(stride)
                for column in 0..<(width / 2) {
                    line[column] = UInt8(clamping: base + ((column >> 4) & 0x0F) - 8)
                }
            }
        }
    }

    /// sin without Foundation, good enough for a path.
    private static func sinApprox(_ x: Double) -> Double {
        var t = x.truncatingRemainder(dividingBy: 2 * Double.pi)
        if t > Double.pi { t -= 2 * Double.pi }
        if t < -Double.pi { t += 2 * Double.pi }
        return 4 / Double.pi * t - 4 / (Double.pi * Double.pi) * t * abs(t)
    }
}

/// Opus 20 ms frames of a stereo 440 Hz tone, encoded once at start (one second loops seamlessly: 440 whole
/// periods).
struct AudioClip {
    static let samplesPerFrame = 960  // 20 ms at 48 kHz
    var frames: [[UInt8]]

    var averageKbps: Double { Double(frames.reduce(0) { $0 + $1.count } * 8) * 50 / Double(max(frames.count, 1)) / 1000 }

    static func encode(bitrate: Int, frameCount: Int = 50) throws -> AudioClip {
        var error: Int32 = 0
        guard let encoder = loadgen_opus_encoder_create(Int32(bitrate), &error) else {
            throw LoadgenError.media("libopus refused an encoder (error \(error))")
        }
        defer { opus_encoder_destroy(encoder) }
        var pcm = [Int16](repeating: 0, count: samplesPerFrame * 2)
        var output = [UInt8](repeating: 0, count: 1500)
        var frames: [[UInt8]] = []
        var phase = 0.0
        let step = 2 * Double.pi * 440 / 48_000
        for _ in 0..<frameCount {
            for i in 0..<samplesPerFrame {
                var t = phase.truncatingRemainder(dividingBy: 2 * Double.pi)
                if t > Double.pi { t -= 2 * Double.pi }
                let sample = Int16(8000 * (4 / Double.pi * t - 4 / (Double.pi * Double.pi) * t * abs(t)))
                pcm[2 * i] = sample
                pcm[2 * i + 1] = sample
                phase += step
            }
            let size = pcm.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    opus_encode(encoder, input.baseAddress!, Int32(samplesPerFrame), out.baseAddress!, Int32(out.count))
                }
            }
            guard size > 0 else { throw LoadgenError.media("libopus failed (\(size))") }
            frames.append(Array(output[0..<Int(size)]))
        }
        return AudioClip(frames: frames)
    }
}

/// xorshift64*: fast deterministic noise for the synthetic picture.
struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    @inline(__always)
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}
