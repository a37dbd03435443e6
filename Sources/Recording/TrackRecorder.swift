import MediaCore

/// One published track recorded to its own WebM file: RTP packets in, in any order, and frames out on the
/// recording's timeline. Video starts at the first keyframe (the file's picture size comes from it) and, after a
/// loss, leaves out what would not decode until the next keyframe (`needsKeyframe`: ask the publisher for one).
/// Audio frames are written as they come; a loss leaves a gap in time, which players fill with silence.
public final class TrackRecorder {
    public enum Kind: Sendable { case video, audio }

    public let path: String
    public let kind: Kind
    private var reorder = RTPReorderBuffer()
    private var assembler = VP8FrameAssembler()
    private var writer: WebMWriter?
    /// Where this track's first frame lies on the recording's timeline (ms), and its RTP time then.
    private var origin: (time: Int64, timestamp: UInt32)?
    private var lastTimestamp: UInt32 = 0
    private var elapsedTicks: Int64 = 0
    /// The publisher's latest sender report: its wall clock (NTP) against its RTP clock.
    private var senderReport: (ntp: UInt64, rtp: UInt32)?
    public private(set) var framesWritten = 0
    public private(set) var packetsLost = 0

    /// `path`: the file to create (created with the first frame that can start it).
    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// RTP clock ticks per millisecond: VP8 runs at 90 kHz, Opus at 48 kHz.
    private var ticksPerMillisecond: Int64 { kind == .video ? 90 : 48 }

    /// Whether the publisher should be asked for a keyframe (none yet, or a loss broke the picture).
    public var needsKeyframe: Bool { kind == .video && assembler.needsKeyframe }

    /// Frames left out after losses (video).
    public var framesDropped: Int { assembler.framesDropped }

    /// One decrypted RTP packet that arrived at `now` (ms on the recording's timeline).
    public func receive(_ packet: [UInt8], now: Int64) throws(RecordingError) {
        guard packet.count >= 12 else { return }
        let sequence = UInt16(packet[2]) << 8 | UInt16(packet[3])
        reorder.insert(packet, sequence: sequence, now: now)
        try drain(now: now)
    }

    /// Writes what the reorder buffer lets go; called with each packet and on a timer (a gap at the end).
    public func drain(now: Int64) throws(RecordingError) {
        for output in reorder.drain(now: now) {
            switch output {
            case .lost(let count):
                packetsLost += count
                if kind == .video { assembler.lost() }
            case .packet(let bytes, let arrival):
                try take(bytes, now: arrival)
            }
        }
    }

    private func take(_ packet: [UInt8], now: Int64) throws(RecordingError) {
        switch kind {
        case .audio:
            guard let header = packet.withUnsafeBytes({ RTPHeader.parse($0) }), header.payloadLength > 0 else { return }
            let frame = Array(packet[header.headerLength..<header.headerLength + header.payloadLength])
            if writer == nil { writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))]) }
            try writer?.write(track: 1, timestamp: time(of: header.timestamp, now: now), keyframe: true, frame: frame)
            framesWritten += 1
        case .video:
            guard let frame = assembler.add(packet) else { return }
            if writer == nil {
                guard frame.keyframe, let width = frame.width, let height = frame.height else { return }
                writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .vp8(width: width, height: height))])
            }
            try writer?.write(track: 1, timestamp: time(of: frame.rtpTimestamp, now: now), keyframe: frame.keyframe, frame: frame.bytes)
            framesWritten += 1
        }
    }

    /// A frame's place on the recording's timeline: the first frame's arrival, then the RTP clock's progress from it
    /// (unwrapped, so a recording may run for days).
    private func time(of timestamp: UInt32, now: Int64) -> Int64 {
        guard let origin else {
            origin = (now, timestamp)
            lastTimestamp = timestamp
            return now
        }
        elapsedTicks += Int64(Int32(bitPattern: timestamp &- lastTimestamp))
        lastTimestamp = timestamp
        return origin.time + elapsedTicks / ticksPerMillisecond
    }

    /// A sender report of the recorded stream (RFC 3550 §6.4.1).
    public func noteSenderReport(ntp: UInt64, rtp: UInt32) {
        senderReport = (ntp, rtp)
    }

    /// Where the first frame was placed on the recording's timeline (its arrival), and when the publisher's own
    /// clock says it was captured (ms since the NTP epoch, from the latest sender report; nil without one). Tracks of
    /// one publisher share that clock, so the differences line them up (`RecordingSession` turns them into offsets).
    public var firstFrame: (time: Int64, capturedNTP: Int64?)? {
        guard let origin else { return nil }
        guard let senderReport else { return (origin.time, nil) }
        let ntpMilliseconds = Int64(senderReport.ntp >> 32) * 1_000 + Int64(((senderReport.ntp & 0xFFFF_FFFF) * 1_000) >> 32)
        return (origin.time, ntpMilliseconds + Int64(Int32(bitPattern: origin.timestamp &- senderReport.rtp)) / ticksPerMillisecond)
    }

    /// Lets everything held go (giving up on what is missing) and closes the file; false when nothing was written.
    @discardableResult
    public func finish(now: Int64) throws(RecordingError) -> Bool {
        try drain(now: now + reorder.maximumWait)
        guard let writer else { return false }
        try writer.finish()
        return true
    }
}
