import Composition
import Logging
import Foundation
import Testing
@testable import Recording

/// A recording folder made of real VP8 and Opus tracks (libvpx, libopus), composed into one file, and the result
/// checked the way a department would: ffprobe reads the streams, ffmpeg decodes pictures from it, and the colours
/// of the publishers' pictures are where composition.json says it drew them.
@Suite struct CompositionTests {
    /// BT.601 limited-range colours the test pictures are painted in.
    static let red: (y: UInt8, u: UInt8, v: UInt8) = (81, 90, 240)
    static let blue: (y: UInt8, u: UInt8, v: UInt8) = (41, 240, 110)
    static let green: (y: UInt8, u: UInt8, v: UInt8) = (145, 54, 34)

    struct Publisher {
        var participant: String
        var color: (y: UInt8, u: UInt8, v: UInt8)
        var frequency: Double
        /// ms on the recording's timeline.
        var from: Int64
        var to: Int64
        var source = "camera"
    }

    /// Writes each publisher's video (30 fps) and audio (20 ms frames) between `from` and `to` as the recorder does,
    /// and recording.json with `timeline`.
    static func makeRecording(_ publishers: [Publisher], duration: Int64, timeline: [TimelineEvent]) throws -> String {
        let folder = TestMedia.temporaryPath("composition-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: folder + "/tracks", withIntermediateDirectories: true)
        var tracks: [RecordingSession.Manifest.Track] = []
        for publisher in publishers {
            let seconds = Double(publisher.to - publisher.from) / 1_000
            let video = TestMedia.vp8Frames(count: Int(seconds * 30), keyframeEvery: 60, color: publisher.color)
            let videoFile = "tracks/\(publisher.participant)-\(publisher.source).webm"
            let writer = try WebMWriter(path: "\(folder)/\(videoFile)", tracks: [WebMTrack(number: 1, codec: .vp8(width: 320, height: 240))])
            for (index, frame) in video.enumerated() {
                try writer.write(track: 1, timestamp: publisher.from + Int64(index) * 1_000 / 30, keyframe: frame.keyframe, frame: frame.bytes)
            }
            try writer.finish()
            tracks.append(Self.track(videoFile, publisher, kind: "video", frames: video.count))
            guard publisher.source == "camera" else { continue }
            let audio = TestMedia.opusFrames(seconds: seconds, frequency: publisher.frequency)
            let audioFile = "tracks/\(publisher.participant)-microphone.webm"
            let audioWriter = try WebMWriter(path: "\(folder)/\(audioFile)", tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))])
            for (index, frame) in audio.enumerated() {
                try audioWriter.write(track: 1, timestamp: publisher.from + Int64(index) * 20, keyframe: true, frame: frame)
            }
            try audioWriter.finish()
            tracks.append(Self.track(audioFile, publisher, kind: "audio", frames: audio.count))
        }
        let manifest = RecordingSession.Manifest(id: "r-0000c0", room: "review", startedAt: Date(), duration: duration, tracks: tracks,
                                                 timeline: timeline, problem: nil)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: folder + "/recording.json"))
        return folder
    }

    static func track(_ file: String, _ publisher: Publisher, kind: String, frames: Int) -> RecordingSession.Manifest.Track {
        RecordingSession.Manifest.Track(file: file, track: "t-\(publisher.participant)-\(kind)-\(publisher.source)", participant: publisher.participant,
                                        identity: publisher.participant, name: publisher.participant.capitalized, kind: kind,
                                        source: kind == "audio" ? "microphone" : publisher.source, from: publisher.from, to: publisher.to,
                                        frames: frames, packetsLost: 0)
    }

    /// The picture at `seconds` of a video file, as I420 decoded by ffmpeg.
    static func picture(_ path: String, at seconds: Double, width: Int, height: Int) throws -> [UInt8]? {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("frame-\(UUID().uuidString).yuv").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard let result = try TestMedia.run("/usr/bin/ffmpeg", ["-v", "error", "-ss", String(seconds), "-i", path, "-frames:v", "1",
                                                                  "-f", "rawvideo", "-pix_fmt", "yuv420p", "-y", output]) else { return nil }
        #expect(result.status == 0, "\(result.stderr)")
        let bytes = [UInt8](FileManager.default.contents(atPath: output) ?? Data())
        #expect(bytes.count == width * height * 3 / 2)
        return bytes
    }

    /// The mean (Y, U, V) of a small patch of an I420 picture around (x, y).
    static func color(_ picture: [UInt8], width: Int, height: Int, x: Int, y: Int) -> (y: Int, u: Int, v: Int) {
        var sums = (0, 0, 0), count = 0
        for row in (y - 4)...(y + 4) {
            for column in (x - 4)...(x + 4) {
                sums.0 += Int(picture[row * width + column])
                sums.1 += Int(picture[width * height + (row / 2) * (width / 2) + column / 2])
                sums.2 += Int(picture[width * height * 5 / 4 + (row / 2) * (width / 2) + column / 2])
                count += 1
            }
        }
        return (sums.0 / count, sums.1 / count, sums.2 / count)
    }

    static func matches(_ seen: (y: Int, u: Int, v: Int), _ wanted: (y: UInt8, u: UInt8, v: UInt8)) -> Bool {
        abs(seen.y - Int(wanted.y)) <= 16 && abs(seen.u - Int(wanted.u)) <= 16 && abs(seen.v - Int(wanted.v)) <= 16
    }

    /// A point of a tile that the test picture's moving square never crosses (it runs through the middle third).
    static func samplePoint(_ tile: CompositionReport.Tile) -> (x: Int, y: Int) {
        (tile.x + tile.width / 2, tile.y + tile.height * 5 / 6)
    }

    @Test func theSpeakerIsLargeTheOthersAreInTheStripAndTheScreenTakesOver() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffprobe") else {
            Issue.record("ffprobe is missing: tools/setup.sh installs Debian ffmpeg")
            return
        }
        let publishers = [Publisher(participant: "asha", color: Self.red, frequency: 440, from: 0, to: 6_000),
                          Publisher(participant: "ravi", color: Self.blue, frequency: 1_000, from: 1_000, to: 6_000),
                          Publisher(participant: "ravi", color: Self.green, frequency: 0, from: 4_000, to: 5_500, source: "screen")]
        let timeline = [TimelineEvent(at: 0, type: .speaker, participant: "asha"), TimelineEvent(at: 2_500, type: .speaker, participant: "ravi"),
                        TimelineEvent(at: 3_000, type: .speaker, participant: nil)]
        let folder = try Self.makeRecording(publishers, duration: 6_000, timeline: timeline)
        var settings = Composer.Settings()
        (settings.width, settings.height) = (640, 360)
        var seen: [Double] = []
        let report = try Composer(folder: folder, settings: settings).compose(progress: { seen.append($0) })
        #expect(seen.last == 1 && seen == seen.sorted() && seen.count >= 50)
        #expect(report.state == .done && report.warnings == nil)
        let layouts = try #require(report.layouts)
        let summary = layouts.map { "\($0.layout):\($0.tiles.map { "\($0.participant)/\($0.source)@\($0.x),\($0.y),\($0.width)x\($0.height)" }.joined(separator: " "))" }
        // 4:3 pictures fitted into their regions: alone 480x360 centred, the main one 360x270 centred in 640x270, strip
        // tiles 120x90, the screen 480x360 and the column's tiles 160x120.
        #expect(summary == [
            "speaker:asha/camera@80,0,480x360",
            "speaker:asha/camera@140,0,360x270 ravi/camera@0,270,120x90",
            "speaker:ravi/camera@140,0,360x270 asha/camera@0,270,120x90",
            "screen:ravi/screen@0,0,480x360 ravi/camera@480,0,160x120 asha/camera@480,120,160x120",
            "speaker:ravi/camera@140,0,360x270 asha/camera@0,270,120x90",
        ], "\(summary)")
        #expect(layouts.map(\.from) == [0, 1_000, 2_533, 4_000, 5_533], "\(layouts.map(\.from))")

        let composed = folder + "/composed.webm"
        let info = try #require(try TestMedia.probe(composed))
        let streams = try #require(info["streams"] as? [[String: Any]])
        #expect(streams.map { $0["codec_name"] as? String } == ["vp8", "opus"])
        #expect(streams[0]["width"] as? Int == 640 && streams[0]["height"] as? Int == 360)
        let duration = Double((info["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        #expect(abs(duration - 6) < 0.2, "\(duration)")
        #expect(try TestMedia.decodeErrors(composed) == "")
        for segment in layouts {
            let seconds = Double(segment.from + segment.to) / 2_000
            let picture = try #require(try Self.picture(composed, at: seconds, width: 640, height: 360))
            for tile in segment.tiles {
                let point = Self.samplePoint(tile)
                let wanted = tile.source == "screen" ? Self.green : tile.participant == "asha" ? Self.red : Self.blue
                let found = Self.color(picture, width: 640, height: 360, x: point.x, y: point.y)
                #expect(Self.matches(found, wanted), "at \(seconds) s \(tile.participant)'s \(tile.source) shows \(found), not \(wanted)")
            }
            let black = Self.color(picture, width: 640, height: 360, x: 6, y: 6)
            #expect(segment.tiles.first?.x == 0 || Self.matches(black, (16, 128, 128)), "outside the tiles it is black, not \(black)")
        }

        let audio = folder + "/audio.opus"
        let audioInfo = try #require(try TestMedia.probe(audio))
        let audioStream = try #require((audioInfo["streams"] as? [[String: Any]])?.first)
        #expect(audioStream["codec_name"] as? String == "opus" && audioStream["channels"] as? Int == 1 && audioStream["sample_rate"] as? String == "48000")
        #expect((audioInfo["format"] as? [String: Any])?["format_name"] as? String == "ogg")
        let audioDuration = Double((audioInfo["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        #expect(abs(audioDuration - 6) < 0.05, "\(audioDuration)")
        #expect(try TestMedia.decodeErrors(audio) == "")
    }

    @Test func theMixHoldsEachPublishersToneOnlyWhileTheyWereThere() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            Issue.record("ffmpeg is missing: tools/setup.sh installs Debian ffmpeg")
            return
        }
        let publishers = [Publisher(participant: "asha", color: Self.red, frequency: 440, from: 0, to: 3_000),
                          Publisher(participant: "ravi", color: Self.blue, frequency: 1_000, from: 2_000, to: 5_000)]
        let folder = try Self.makeRecording(publishers, duration: 5_000, timeline: [])
        var settings = Composer.Settings()
        (settings.width, settings.height, settings.fps) = (320, 180, 10)
        _ = try Composer(folder: folder, settings: settings).compose()
        let pcmPath = folder + "/mix.s16"
        let decoded = try #require(try TestMedia.run("/usr/bin/ffmpeg", ["-v", "error", "-i", folder + "/audio.opus", "-f", "s16le", "-ac", "1", "-ar", "48000", "-y", pcmPath]))
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let data = try #require(FileManager.default.contents(atPath: pcmPath))
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(abs(samples.count - 5 * 48_000) <= 960, "\(samples.count) samples")
        /// The power of `frequency` in the 200 ms from `start` seconds (Goertzel), relative to the window's energy.
        func share(_ frequency: Double, at start: Double) -> Double {
            let first = Int(start * 48_000), count = 9_600
            let coefficient = 2 * cos(2 * Double.pi * frequency / 48_000)
            var (previous, beforeThat, energy) = (0.0, 0.0, 0.0)
            for sample in samples[first..<first + count] {
                let value = Double(sample)
                energy += value * value
                (previous, beforeThat) = (value + coefficient * previous - beforeThat, previous)
            }
            let power = previous * previous + beforeThat * beforeThat - coefficient * previous * beforeThat
            return energy > 0 ? power / (energy * Double(count) / 2) : 0
        }
        for (at, hears440, hears1000) in [(0.5, true, false), (2.4, true, true), (4.2, false, true)] {
            #expect((share(440, at: at) > 0.2) == hears440, "440 Hz at \(at) s: \(share(440, at: at))")
            #expect((share(1_000, at: at) > 0.2) == hears1000, "1 kHz at \(at) s: \(share(1_000, at: at))")
        }
    }

    @Test func aTrackThatCannotBeReadIsLeftOutAndTheRestIsComposed() throws {
        let folder = try Self.makeRecording([Publisher(participant: "asha", color: Self.red, frequency: 440, from: 0, to: 2_000),
                                             Publisher(participant: "ravi", color: Self.blue, frequency: 1_000, from: 0, to: 2_000)],
                                            duration: 2_000, timeline: [])
        try Data("not a webm".utf8).write(to: URL(fileURLWithPath: folder + "/tracks/ravi-camera.webm"))
        var settings = Composer.Settings()
        (settings.width, settings.height, settings.fps) = (320, 180, 10)
        let report = try Composer(folder: folder, settings: settings).compose()
        #expect(report.warnings?.count == 1 && report.warnings?.first?.contains("ravi-camera.webm") == true, "\(report.warnings ?? [])")
        #expect(report.layouts?.map { $0.tiles.map(\.participant) } == [["asha"]])
        #expect(FileManager.default.fileExists(atPath: folder + "/composed.webm"))
    }

    @Test func aNearlyFullDiskFailsTheCompositionWithWhyAndLeavesNoHalfFile() throws {
        let folder = try Self.makeRecording([Publisher(participant: "asha", color: Self.red, frequency: 440, from: 0, to: 2_000)],
                                            duration: 2_000, timeline: [])
        var settings = Composer.Settings()
        settings.minimumFree = Int64.max / 2
        do {
            _ = try Composer(folder: folder, settings: settings).compose()
            Issue.record("composed on a disk with less free than it must keep")
        } catch {
            #expect("\(error)".contains("the disk is nearly full"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["recording.json", "tracks"])
    }

    @Test func stoppingLeavesNoHalfFile() throws {
        let folder = try Self.makeRecording([Publisher(participant: "asha", color: Self.red, frequency: 440, from: 0, to: 2_000)],
                                            duration: 2_000, timeline: [])
        var frames = 0
        #expect(throws: CompositionError.self) {
            _ = try Composer(folder: folder).compose(shouldStop: { frames += 1; return frames > 5 })
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(left.sorted() == ["recording.json", "tracks"], "\(left)")
    }
}

/// The server's queue: one recording at a time, on a thread of its own below the media workers' priority, its
/// state on disk for the API, and nothing half-done left by a shutdown.
@Suite struct CompositionQueueTests {
    /// The nice value of this process's thread named `name` (/proc/self/task/*/stat, field 19); nil when none runs.
    static func niceness(ofThread name: String) -> Int? {
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                  let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return Int(fields[16])  // field 19 overall; fields after "(comm)" start at field 3
        }
        return nil
    }

    @Test func aQueuedRecordingIsComposedAtNiceTenAndItsStateIsOnDisk() throws {
        let folder = try CompositionTests.makeRecording([CompositionTests.Publisher(participant: "asha", color: CompositionTests.red, frequency: 440, from: 0, to: 8_000)],
                                                        duration: 8_000, timeline: [])
        let queue = CompositionQueue(logger: Logger(label: "test"))
        defer { queue.shutdown() }
        queue.enqueue(folder: folder)
        var states: Set<CompositionReport.State> = []
        var nice: Int?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let report = CompositionReport.read(folder: folder)
            if let state = report?.state { states.insert(state) }
            if report?.state == .running, nice == nil { nice = Self.niceness(ofThread: "sabha-compose") }
            if report?.state == .done || report?.state == .failed { break }
            usleep(20_000)
        }
        let report = try #require(CompositionReport.read(folder: folder))
        #expect(report.state == .done, "\(report)")
        #expect(states.contains(.running), "\(states)")
        #expect(nice == 10, "the composing thread's nice value: \(nice.map(String.init) ?? "not seen")")
        #expect(queue.waitUntilIdle(timeout: .seconds(5)))
        #expect(FileManager.default.fileExists(atPath: folder + "/composed.webm") && FileManager.default.fileExists(atPath: folder + "/audio.opus"))
    }

    @Test func aShutdownLeavesTheCompositionPendingForTheNextStart() throws {
        let made = try CompositionTests.makeRecording([CompositionTests.Publisher(participant: "asha", color: CompositionTests.red, frequency: 440, from: 0, to: 20_000)],
                                                      duration: 20_000, timeline: [])
        // A recordings directory of its own, so that resuming finds only this one.
        let recordings = TestMedia.temporaryPath("queue-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: recordings, withIntermediateDirectories: true)
        let folder = recordings + "/review-r-0000c0"
        try FileManager.default.moveItem(atPath: made, toPath: folder)
        let queue = CompositionQueue(logger: Logger(label: "test"))
        queue.enqueue(folder: folder)
        let deadline = Date().addingTimeInterval(30)
        while CompositionReport.read(folder: folder)?.state != .running && Date() < deadline { usleep(10_000) }
        queue.shutdown()
        while CompositionReport.read(folder: folder)?.state == .running && Date() < deadline { usleep(10_000) }
        #expect(CompositionReport.read(folder: folder)?.state == .pending)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }
        #expect(left.sorted() == ["composition.json", "recording.json", "tracks"], "\(left)")
        // The next start finds it and composes it.
        let next = CompositionQueue(logger: Logger(label: "test"))
        defer { next.shutdown() }
        next.resume(in: recordings)
        #expect(next.waitUntilIdle(timeout: .seconds(60)))
        #expect(CompositionReport.read(folder: folder)?.state == .done)
    }
}
