import Recording

/// One recorded audio track, decoded as the mix asks for it and placed on the recording's timeline in 48 kHz
/// samples. Frames that follow one another (within 20 ms of where the last ended) are laid end to end, so the
/// millisecond timestamps of the file add no clicks; a real gap (a loss, a muted microphone) is silence.
final class AudioSource {
    let track: RecordingSession.Manifest.Track
    private let reader: WebMReader
    private let decoder: OpusCodec.Decoder
    /// Decoded samples not yet mixed, the first at sample `decodedStart` of the timeline.
    private var decoded: [Int16] = []
    private var decodedStart: Int64 = 0
    private var ended = false

    static let samplesPerMillisecond: Int64 = 48

    init(path: String, track: RecordingSession.Manifest.Track) throws(CompositionError) {
        self.track = track
        reader = try WebMReader.open(path, for: track, holding: "Opus audio") { if case .opus = $0 { true } else { false } }
        decoder = try OpusCodec.Decoder()
    }

    /// Adds this track's samples for `[start, start + mix.count)` into `mix`.
    func mix(into mix: inout [Int32], start: Int64) {
        let end = start + Int64(mix.count)
        while !ended && decodedStart + Int64(decoded.count) < end { decodeNext() }
        if decodedStart < start {
            let drop = Int(min(Int64(decoded.count), start - decodedStart))
            decoded.removeFirst(drop)
            decodedStart += Int64(drop)
            if decoded.isEmpty { decodedStart = start }
        }
        let offset = Int(decodedStart - start)
        guard offset < mix.count else { return }
        let count = min(decoded.count, mix.count - offset)
        for index in 0..<count { mix[offset + index] += Int32(decoded[index]) }
    }

    private func decodeNext() {
        guard let frame = reader.next() else {
            ended = true
            return
        }
        let samples = decoder.decode(frame.bytes)
        guard !samples.isEmpty else { return }
        let at = (frame.timestamp + (track.offset ?? 0)) * Self.samplesPerMillisecond
        let expected = decodedStart + Int64(decoded.count)
        if decoded.isEmpty && expected <= at {
            decodedStart = at
        } else if at > expected + Int64(OpusCodec.frameSamples) {
            decoded.append(contentsOf: repeatElement(0, count: Int(at - expected)))
        }
        decoded.append(contentsOf: samples)
    }
}
