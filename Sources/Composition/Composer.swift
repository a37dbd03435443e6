import Foundation
import Recording

/// Composes a finished recording into one file: every video track decoded and laid out on one canvas
/// (`LayoutPlanner`), every audio track decoded and mixed, the result encoded as VP8 and Opus in `composed.webm`, and
/// the mix alone as Ogg Opus in `audio.opus`, beside the tracks. It streams: a track is read a cluster at a time and
/// the outputs are written as they go, so a meeting of hours needs no more memory than one of minutes. The files
/// appear under their names only when complete.
public struct Composer {
    public struct Settings: Sendable, Equatable {
        public var width = 1280
        public var height = 720
        public var fps = 15
        public var videoKbps = 1_500
        public var audioBitrate = 48_000
        /// A keyframe at least this often, so that players can seek.
        public var keyframeSeconds = 10
        /// Free space the disk must keep (0: not watched): composing stops, and fails with why, below it.
        public var minimumFree: Int64 = 0

        public init() {}
    }

    public let folder: String
    public let settings: Settings

    public init(folder: String, settings: Settings = Settings()) {
        self.folder = folder
        self.settings = settings
    }

    /// The recording's manifest (`recording.json`).
    public static func manifest(folder: String) throws(CompositionError) -> RecordingSession.Manifest {
        guard let data = FileManager.default.contents(atPath: folder + "/recording.json") else {
            throw .noRecording("\(folder) has no recording.json (is the recording still running?)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(RecordingSession.Manifest.self, from: data)
        } catch {
            throw .noRecording("\(folder)/recording.json cannot be read: \(error)")
        }
    }

    /// Composes; `progress` hears 0...1 about every percent, and `shouldStop` is asked before every frame (true:
    /// stop, leave no output, and throw `.cancelled`).
    public func compose(progress: (Double) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws(CompositionError) -> CompositionReport {
        let began = ContinuousClock.now
        let manifest = try Self.manifest(folder: folder)
        var warnings: [String] = []
        var video: [VideoSource] = []
        var audio: [AudioSource] = []
        for track in manifest.tracks {
            do throws(CompositionError) {
                if track.kind == "video" {
                    video.append(try VideoSource(path: "\(folder)/\(track.file)", track: track))
                } else {
                    audio.append(try AudioSource(path: "\(folder)/\(track.file)", track: track))
                }
            } catch {
                warnings.append("\(track.file) left out: \(error)")
            }
        }
        let outputs = try Outputs(folder: folder, settings: settings, startedAt: manifest.startedAt)
        var run = Run(settings: settings, manifest: manifest, video: video, audio: audio, outputs: outputs)
        do throws(CompositionError) {
            let frames = run.frameCount
            var reported = -1
            for index in 0..<frames {
                if shouldStop() { throw CompositionError.cancelled }
                if settings.minimumFree > 0, index % 150 == 0, let free = DiskSpace.available(at: folder), free < settings.minimumFree {
                    throw CompositionError.io("the disk is nearly full: \(DiskSpace.describe(free)) left, \(DiskSpace.describe(settings.minimumFree)) must stay free")
                }
                try run.frame(index)
                let percent = (index + 1) * 100 / frames
                if percent != reported {
                    reported = percent
                    progress(Double(index + 1) / Double(frames))
                }
            }
            try run.finish()
        } catch {
            outputs.discard()
            throw error
        }
        try outputs.publish()
        warnings += video.compactMap { source in source.damage.map { "\(source.track.file): \($0)" } }
        var report = CompositionReport(state: .done, progress: 1)
        (report.width, report.height, report.fps, report.duration) = (settings.width, settings.height, settings.fps, manifest.duration)
        let elapsed = ContinuousClock.now - began
        report.elapsedMs = elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        report.layouts = run.segments
        report.warnings = warnings.isEmpty ? nil : warnings
        return report
    }
}

/// The two files being written, under temporary names until they are complete.
private struct Outputs {
    let folder: String
    let video: WebMWriter
    let audio: OggOpusWriter
    let videoEncoder: VP8Encoder
    let audioEncoder: OpusCodec.Encoder

    static let videoTrack = 1
    static let audioTrack = 2

    init(folder: String, settings: Composer.Settings, startedAt: Date) throws(CompositionError) {
        self.folder = folder
        for name in [CompositionReport.composedFile, CompositionReport.audioFile] { unlink("\(folder)/\(name).partial") }
        videoEncoder = try VP8Encoder(width: settings.width, height: settings.height, fps: settings.fps, kbps: settings.videoKbps,
                                      keyframeEvery: settings.fps * settings.keyframeSeconds)
        audioEncoder = try OpusCodec.Encoder(bitrate: settings.audioBitrate)
        do {
            video = try WebMWriter(path: "\(folder)/\(CompositionReport.composedFile).partial", tracks: [
                WebMTrack(number: Self.videoTrack, codec: .vp8(width: settings.width, height: settings.height)),
                WebMTrack(number: Self.audioTrack, codec: .opus(channels: 1)),
            ], startedAt: startedAt)
        } catch {
            throw .io("cannot create the composed file: \(error)")
        }
        audio = try OggOpusWriter(path: "\(folder)/\(CompositionReport.audioFile).partial", preSkip: audioEncoder.lookahead)
    }

    func discard() {
        for name in [CompositionReport.composedFile, CompositionReport.audioFile] { unlink("\(folder)/\(name).partial") }
    }

    func publish() throws(CompositionError) {
        for name in [CompositionReport.composedFile, CompositionReport.audioFile] {
            guard rename("\(folder)/\(name).partial", "\(folder)/\(name)") == 0 else {
                throw .io("cannot rename \(name).partial: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// One composition in progress: the clock, the canvas, the mix, and what the picture showed so far.
private struct Run {
    let settings: Composer.Settings
    let manifest: RecordingSession.Manifest
    let video: [VideoSource]
    let audio: [AudioSource]
    let outputs: Outputs
    var canvas: Canvas
    var planner: LayoutPlanner
    var mix = [Int32](repeating: 0, count: OpusCodec.frameSamples)
    var pcm = [Int16](repeating: 0, count: OpusCodec.frameSamples)
    var audioFrames: Int64 = 0
    private(set) var segments: [CompositionReport.Segment] = []

    init(settings: Composer.Settings, manifest: RecordingSession.Manifest, video: [VideoSource], audio: [AudioSource], outputs: Outputs) {
        (self.settings, self.manifest, self.video, self.audio, self.outputs) = (settings, manifest, video, audio, outputs)
        canvas = Canvas(width: settings.width, height: settings.height)
        planner = LayoutPlanner(width: settings.width, height: settings.height, timeline: manifest.timeline)
    }

    var frameCount: Int { max(1, Int((manifest.duration * Int64(settings.fps) + 999) / 1_000)) }

    /// Milliseconds of one 20 ms audio frame, and where audio frame `index` starts.
    static let audioFrameMilliseconds: Int64 = 20

    mutating func frame(_ index: Int) throws(CompositionError) {
        let time = Int64(index) * 1_000 / Int64(settings.fps)
        // The sound before this picture first, so that every cluster the picture's keyframe starts holds only what
        // follows it.
        while audioFrames * Self.audioFrameMilliseconds < time { try audioFrame() }
        for source in video { source.advance(to: time) }
        let (kind, tiles) = planner.layout(at: time, sources: video)
        canvas.clear()
        var drawn: [CompositionReport.Tile] = []
        for tile in tiles {
            let source = video[tile.source]
            let rect = tile.region.fitting(width: source.picture.width, height: source.picture.height)
            canvas.draw(source.picture, in: rect)
            let track = source.track
            drawn.append(CompositionReport.Tile(participant: track.participant, identity: track.identity, name: track.name, track: track.track,
                                                source: track.source, x: rect.x, y: rect.y, width: rect.width, height: rect.height))
        }
        note(kind: kind.rawValue, tiles: drawn, at: time)
        let (bytes, keyframe) = try outputs.videoEncoder.encode(&canvas.pixels, index: Int64(index))
        guard !bytes.isEmpty else { return }
        try write(track: Outputs.videoTrack, at: time, keyframe: keyframe, bytes)
    }

    /// Mixes, encodes and writes the next 20 ms of sound.
    private mutating func audioFrame() throws(CompositionError) {
        let start = audioFrames * Int64(OpusCodec.frameSamples)
        for index in mix.indices { mix[index] = 0 }
        for source in audio { source.mix(into: &mix, start: start) }
        for index in mix.indices { pcm[index] = Int16(clamping: mix[index]) }
        let packet = try outputs.audioEncoder.encode(pcm)
        try write(track: Outputs.audioTrack, at: audioFrames * Self.audioFrameMilliseconds, keyframe: true, packet)
        try outputs.audio.write(packet, frameSamples: OpusCodec.frameSamples)
        audioFrames += 1
    }

    private func write(track: Int, at time: Int64, keyframe: Bool, _ bytes: [UInt8]) throws(CompositionError) {
        do {
            try outputs.video.write(track: track, timestamp: time, keyframe: keyframe, frame: bytes)
        } catch {
            throw .io("cannot write the composed file: \(error)")
        }
    }

    private mutating func note(kind: String, tiles: [CompositionReport.Tile], at time: Int64) {
        if let last = segments.last, last.layout == kind, last.tiles == tiles { return }
        if !segments.isEmpty { segments[segments.count - 1].to = time }
        segments.append(CompositionReport.Segment(from: time, to: manifest.duration, layout: kind, tiles: tiles))
    }

    /// The sound after the last picture, up to the recording's end; then both files are closed.
    mutating func finish() throws(CompositionError) {
        while audioFrames * Self.audioFrameMilliseconds < manifest.duration { try audioFrame() }
        do {
            try outputs.video.finish()
        } catch {
            throw .io("cannot finish the composed file: \(error)")
        }
        try outputs.audio.finish(totalSamples: manifest.duration * AudioSource.samplesPerMillisecond)
    }
}
