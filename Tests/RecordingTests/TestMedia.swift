import COpus
import CVPX
import Foundation
import MediaCore
@testable import Recording

/// Real VP8 and Opus for the recording tests, made with libvpx and libopus: a moving test picture and a tone, and
/// VP8 frames cut into RTP packets as a browser sends them (RFC 7741: a 1-byte descriptor, S on a frame's first
/// packet, the marker on its last).
enum TestMedia {
    struct VideoFrame {
        var bytes: [UInt8]
        var keyframe: Bool
    }

    /// `count` VP8 frames of a `width`x`height` picture whose bright square moves, a keyframe every `keyframeEvery`.
    /// With `color` (Y, U, V), the picture is that colour with the square moving on it.
    static func vp8Frames(count: Int, width: Int = 320, height: Int = 240, keyframeEvery: Int = 30,
                          color: (y: UInt8, u: UInt8, v: UInt8)? = nil) -> [VideoFrame] {
        var codec = vpx_codec_ctx_t()
        // Keyframes exactly where asked (none of the encoder's own), so a test knows where they are.
        precondition(sabha_vp8_encoder_init(&codec, Int32(width), Int32(height), 30, 400, 0) == 0)
        defer { vpx_codec_destroy(&codec) }
        var image = vpx_image_t()
        precondition(vpx_img_alloc(&image, VPX_IMG_FMT_I420, UInt32(width), UInt32(height), 16) != nil)
        defer { vpx_img_free(&image) }
        var frames: [VideoFrame] = []
        var out = [UInt8](repeating: 0, count: 1 << 20)
        for index in 0..<count {
            let y = image.planes.0!, stride = Int(image.stride.0)
            for row in 0..<height {
                for column in 0..<width {
                    let inSquare = (column - index * 3 % width + width) % width < 40 && row > height / 3 && row < height / 3 + 40
                    y[row * stride + column] = inSquare ? 235 : color?.y ?? UInt8(16 + (row + column) % 64)
                }
            }
            for (plane, value) in [(image.planes.1!, color?.u ?? 128), (image.planes.2!, color?.v ?? 128)] {
                let chromaStride = Int(image.stride.1)
                for row in 0..<(height / 2) { memset(plane + row * chromaStride, Int32(value), width / 2) }
            }
            var isKey: Int32 = 0
            let size = out.withUnsafeMutableBytes { sabha_vp8_encode(&codec, &image, Int64(index), index % keyframeEvery == 0 ? 1 : 0,
                                                                       $0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count, &isKey) }
            precondition(size > 0, "libvpx encode failed: \(size)")
            frames.append(VideoFrame(bytes: Array(out[0..<size]), keyframe: isKey != 0))
        }
        return frames
    }

    /// The RTP packets of VP8 frames at 30 frames/s: sequence numbers from `firstSequence`, 90 kHz timestamps.
    static func rtpPackets(_ frames: [VideoFrame], firstSequence: UInt16 = 65_000, maxPayload: Int = 1_000) -> [(sequence: UInt16, bytes: [UInt8])] {
        var packets: [(UInt16, [UInt8])] = []
        var sequence = firstSequence
        for (index, frame) in frames.enumerated() {
            let timestamp = UInt32(1_000 + index * 3_000)
            var offset = 0
            while offset < frame.bytes.count {
                let end = min(frame.bytes.count, offset + maxPayload)
                var packet: [UInt8] = [0x80, (end == frame.bytes.count ? 0x80 : 0) | 96,
                                       UInt8(sequence >> 8), UInt8(sequence & 0xFF),
                                       UInt8(timestamp >> 24), UInt8((timestamp >> 16) & 0xFF), UInt8((timestamp >> 8) & 0xFF), UInt8(timestamp & 0xFF),
                                       0x12, 0x34, 0x56, 0x78]
                packet.append(offset == 0 ? 0x10 : 0x00)  // S on the first packet, PID 0
                packet.append(contentsOf: frame.bytes[offset..<end])
                packets.append((sequence, packet))
                sequence &+= 1
                offset = end
            }
        }
        return packets
    }

    /// `seconds` of a stereo tone (440 Hz unless told) as 20 ms Opus frames.
    static func opusFrames(seconds: Double, frequency: Double = 440) -> [[UInt8]] {
        var error: Int32 = 0
        let encoder = opus_encoder_create(48_000, 2, OPUS_APPLICATION_AUDIO, &error)!
        defer { opus_encoder_destroy(encoder) }
        _ = sabha_opus_set_bitrate(encoder, 64_000)
        var frames: [[UInt8]] = []
        var out = [UInt8](repeating: 0, count: 4_000)
        for index in 0..<Int(seconds * 50) {
            var pcm = [Int16](repeating: 0, count: 960 * 2)
            for sample in 0..<960 {
                let value = Int16(8_000 * sin(2 * Double.pi * frequency * Double(index * 960 + sample) / 48_000))
                pcm[2 * sample] = value
                pcm[2 * sample + 1] = value
            }
            let size = opus_encode(encoder, pcm, 960, &out, Int32(out.count))
            precondition(size > 0)
            frames.append(Array(out[0..<Int(size)]))
        }
        return frames
    }

    /// `ffprobe`'s JSON for a file: streams (with counted frames) and format; nil when ffprobe is not installed.
    static func probe(_ path: String) throws -> [String: Any]? {
        guard let output = try run("/usr/bin/ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path]) else { return nil }
        return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    }

    /// Decodes every frame of a file with ffmpeg; what it said on stderr (empty: no decoding error).
    static func decodeErrors(_ path: String) throws -> String? {
        try run("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"]).map { $0.status == 0 ? $0.stderr : "exit \($0.status): \($0.stderr)" }
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String)? {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sabha-recording-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: path)
        return path
    }
}
