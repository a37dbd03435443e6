import Foundation
import Testing
import MediaCore
@testable import Recording

/// The reader composition uses to get frames back out of the recorder's files: what goes in comes out, a file cut
/// anywhere gives back its complete clusters, and damaged bytes end the file without a crash.
@Suite struct WebMReaderTests {
    /// A two-track file (VP8 and Opus, interleaved as the composer writes them) and the frames written into it.
    static func sample() throws -> (path: String, frames: [WebMReader.Frame]) {
        let path = TestMedia.temporaryPath("reader-\(UUID().uuidString.prefix(8)).webm")
        let writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .vp8(width: 320, height: 240)), WebMTrack(number: 2, codec: .opus(channels: 1))])
        var frames: [WebMReader.Frame] = []
        let video = TestMedia.vp8Frames(count: 60, keyframeEvery: 20)
        let audio = TestMedia.opusFrames(seconds: 2)
        var audioIndex = 0
        for (index, frame) in video.enumerated() {
            let time = Int64(index) * 1_000 / 30
            while Int64(audioIndex) * 20 < time {
                try writer.write(track: 2, timestamp: Int64(audioIndex) * 20, keyframe: true, frame: audio[audioIndex])
                frames.append(WebMReader.Frame(track: 2, timestamp: Int64(audioIndex) * 20, keyframe: true, bytes: audio[audioIndex]))
                audioIndex += 1
            }
            try writer.write(track: 1, timestamp: time, keyframe: frame.keyframe, frame: frame.bytes)
            frames.append(WebMReader.Frame(track: 1, timestamp: time, keyframe: frame.keyframe, bytes: frame.bytes))
        }
        try writer.finish()
        return (path, frames)
    }

    static func readAll(_ path: String) -> (frames: [WebMReader.Frame], damage: String?)? {
        guard let reader = try? WebMReader(path: path) else { return nil }
        var frames: [WebMReader.Frame] = []
        while let frame = reader.next() { frames.append(frame) }
        return (frames, reader.damage)
    }

    @Test func whatTheWriterWroteTheReaderGivesBack() throws {
        let (path, written) = try Self.sample()
        let reader = try WebMReader(path: path)
        #expect(reader.tracks == [WebMReader.Track(number: 1, codec: .vp8(width: 320, height: 240)), WebMReader.Track(number: 2, codec: .opus(channels: 1))])
        let read = try #require(Self.readAll(path))
        #expect(read.damage == nil)
        #expect(read.frames == written)
    }

    @Test func aFileCutAnywhereGivesBackItsCompleteClusters() throws {
        let (path, written) = try Self.sample()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = TestMedia.temporaryPath("reader-cut.webm")
        var previous = 0
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: cut))
            guard let read = Self.readAll(cut) else { continue }  // cut inside the header: not a WebM file yet
            #expect(Array(written.prefix(read.frames.count)) == read.frames, "a prefix of what was written, at \(length) bytes")
            #expect(read.frames.count >= previous, "more bytes never give fewer frames")
            previous = read.frames.count
        }
        #expect(previous > 0)
    }

    @Test func damagedBytesEndTheFileWithoutACrash() throws {
        let (path, written) = try Self.sample()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let damaged = TestMedia.temporaryPath("reader-damaged.webm")
        var generator = SystemRandomNumberGenerator()
        for round in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + round % 8) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = round % 3 == 0 ? 0xFF : UInt8.random(in: 0...255, using: &generator)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            if let read = Self.readAll(damaged) {
                #expect(read.frames.count <= written.count + 64)
            }
        }
        for garbage in [[UInt8](), [0x1A, 0x45, 0xDF, 0xA3], [0x1A, 0x45, 0xDF, 0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                        (0..<4_096).map { _ in UInt8.random(in: 0...255) }] {
            try Data(garbage).write(to: URL(fileURLWithPath: damaged))
            #expect(Self.readAll(damaged) == nil)
        }
    }

    @Test func aBlockTimeAtTheEdgeOfInt64IsDroppedNotATrap() {
        #expect(WebMReader.milliseconds(cluster: 2_000, relative: -500, scale: 1_000_000) == 1_500)
        #expect(WebMReader.milliseconds(cluster: .max, relative: 1, scale: 1) == nil)
        #expect(WebMReader.milliseconds(cluster: .min, relative: -1, scale: 1) == nil)
        #expect(WebMReader.milliseconds(cluster: .max / 2, relative: 0, scale: 1_000_000) == nil)
    }

    @Test func aTarHeaderIsReadByTarWithALongNameSplitIntoThePrefix() throws {
        let folder = TestMedia.temporaryPath("tar-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let long = "r-0a0b0c/tracks/" + String(repeating: "officer", count: 11) + "-camera-t-1234.webm"
        #expect(long.utf8.count > 100)
        let contents: [(String, [UInt8])] = [("r-0a0b0c/recording.json", Array("{}\n".utf8)), (long, (0..<1_000).map { UInt8($0 % 251) })]
        var archive: [UInt8] = []
        for (name, bytes) in contents {
            archive += try #require(TarHeader(path: name, size: Int64(bytes.count), modified: 1_700_000_000)).bytes
            archive += bytes + [UInt8](repeating: 0, count: TarHeader.padding(after: Int64(bytes.count)))
        }
        archive += TarHeader.end
        #expect(archive.count % 512 == 0)
        try Data(archive).write(to: URL(fileURLWithPath: folder + "/a.tar"))
        let listed = try #require(try TestMedia.run("/usr/bin/tar", ["-tvf", folder + "/a.tar"]))
        #expect(listed.status == 0 && listed.stderr.isEmpty, "\(listed.stderr)")
        #expect(listed.stdout.contains(long) && listed.stdout.contains(" 1000 "), "\(listed.stdout)")
        let extracted = try #require(try TestMedia.run("/usr/bin/tar", ["-xf", folder + "/a.tar", "-C", folder]))
        #expect(extracted.status == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(long)"))) == contents[1].1)
        #expect(TarHeader(path: String(repeating: "x", count: 300), size: 0, modified: 0) == nil)
    }
}

/// Sender reports tie a track's RTP clock to its publisher's wall clock; the recorder keeps when its first frame was
/// captured by that clock, which is what lines up one person's audio and video.
@Suite struct SenderReportTimingTests {
    @Test func theFirstFramesCaptureTimeComesFromTheLatestSenderReport() throws {
        let recorder = TrackRecorder(path: TestMedia.temporaryPath("sr-\(UUID().uuidString.prefix(6)).webm"), kind: .video)
        #expect(recorder.firstFrame == nil)
        let frames = TestMedia.vp8Frames(count: 3)
        for packet in TestMedia.rtpPackets(frames) { try recorder.receive(packet.bytes, now: 250) }
        try recorder.drain(now: 1_000)
        let placed = try #require(recorder.firstFrame)
        #expect(placed.time == 250 && placed.capturedNTP == nil, "without a report, only the arrival")
        // The report says RTP 91_000 (1 s after the first frame's 1_000, at 90 kHz) was 1_700_000_000.5 s.
        let ntp = UInt64(1_700_000_000 + 2_208_988_800) << 32 | 0x8000_0000
        recorder.noteSenderReport(ntp: ntp, rtp: 91_000)
        let base: Int64 = (1_700_000_000 + 2_208_988_800) * 1_000
        #expect(recorder.firstFrame?.capturedNTP ?? nil == base + 500 - 1_000)
        // A report from before the RTP clock wrapped still gives the same instant.
        recorder.noteSenderReport(ntp: ntp - (UInt64(1) << 32) * 2, rtp: 1_000 &- 90_000 &* 1)
        #expect(recorder.firstFrame?.capturedNTP ?? nil == base + 500 - 2_000 + 1_000)
        try recorder.finish(now: 2_000)
    }

    @Test func aSenderReportRecordInTheTapIsToldFromRTP() {
        var record = [UInt8](repeating: 0, count: 16)
        record[0] = 0x80
        record[1] = 200
        for index in 0..<8 { record[4 + index] = UInt8(index + 1) }
        record[12...15] = [0xDE, 0xAD, 0xBE, 0xEF]
        let report = record.withUnsafeBytes { MediaTap.senderReport($0) }
        #expect(report?.ntp == 0x0102_0304_0506_0708 && report?.rtp == 0xDEAD_BEEF)
        let rtp: [UInt8] = [0x80, 0xE0] + [UInt8](repeating: 0, count: 14)  // marker and PT 96
        #expect(rtp.withUnsafeBytes { MediaTap.senderReport($0) } == nil)
    }
}
