import Recording

/// One recorded video track, decoded as the composition's clock moves: `advance(to:)` decodes every frame up to that
/// time (VP8 frames depend on those before them, so none is skipped) and keeps the latest picture.
final class VideoSource {
    let track: RecordingSession.Manifest.Track
    let picture = Picture()
    /// When the first picture was shown (ms on the recording's timeline); nil before.
    private(set) var firstShown: Int64?
    private let reader: WebMReader
    private let decoder = VP8Decoder()
    private var upcoming: WebMReader.Frame?
    /// The track's offset from the sender reports (ms).
    private var shift: Int64 { track.offset ?? 0 }

    init(path: String, track: RecordingSession.Manifest.Track) throws(CompositionError) {
        self.track = track
        reader = try WebMReader.open(path, for: track, holding: "VP8 video") { if case .vp8 = $0 { true } else { false } }
        upcoming = reader.next()
    }

    /// Decodes up to `time`.
    func advance(to time: Int64) {
        while let frame = upcoming, frame.timestamp + shift <= time {
            if decoder.decode(frame.bytes, into: picture), firstShown == nil { firstShown = frame.timestamp + shift }
            upcoming = reader.next()
        }
    }

    /// Whether the track is shown at `time`: it has a picture, and its publisher had not stopped it yet.
    func isLive(at time: Int64) -> Bool {
        firstShown != nil && time <= track.to
    }

    /// What went wrong reading the file, if anything (the frames before it are used).
    var damage: String? { reader.damage }
}

extension WebMReader {
    /// Opens a recorded track's file; its first track must be `what` (`matches`).
    static func open(_ path: String, for track: RecordingSession.Manifest.Track, holding what: String,
                     matches: (WebMTrack.Codec) -> Bool) throws(CompositionError) -> WebMReader {
        let reader: WebMReader
        do {
            reader = try WebMReader(path: path)
        } catch {
            throw .io("\(track.file): \(error)")
        }
        guard matches(reader.tracks[0].codec) else { throw .io("\(track.file) holds no \(what)") }
        return reader
    }
}
