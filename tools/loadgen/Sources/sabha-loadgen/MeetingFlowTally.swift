/// What a set of a meeting's receivers got from its publishers over one window, from their peers' reports at the
/// window's start and end: per directed flow (publisher → receiver, audio and video) whether packets came and why
/// not, and summed over the receivers the packets, loss (sequence gaps), latency samples and SRTP failures.
/// `MeetingRun` keeps one for the participants (each also receives every other one) and one for the viewers.
struct MeetingFlowTally {
    var receivers = 0
    /// Receivers whose media was connected at the window's end.
    var connected = 0
    /// Receivers that got no packet at all in the window.
    var silent = 0
    var expectedFlows = 0
    var audioMissing = 0
    var videoMissing = 0
    var notSignalled = 0
    /// Video flows that delivered packets but no keyframe start since their stream was announced.
    var videoWithoutKeyframe = 0
    /// "publisher -> receiver kind (why)", at most 300.
    var missing: [String] = []
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var expected: Int64 = 0
    var lost: Int64 = 0
    var latency = LatencyHistogram()
    var videoFrameRates: [Double] = []
    var authFailures: UInt64 = 0
    var srtpRefused: UInt64 = 0
    var unknown: UInt64 = 0
    /// The server media port each receiver's answer named (the node serving its media) → receivers.
    var mediaPorts: [UInt16: Int] = [:]

    var missingCount: Int { audioMissing + videoMissing }
    var lossPercent: Double { expected > 0 ? 100 * Double(max(lost, 0)) / Double(expected) : 0 }

    /// Adds `receiver`'s flows from each of `publishers` but itself. `first` and `last` are its peer's reports at
    /// the window's start and end; `samePeer` is false when its peer changed in between (it counts as nothing).
    mutating func add(_ receiver: MeetingParticipant, publishers: Range<Int>, first: MeetingPeerReport?, last: MeetingPeerReport?,
                      samePeer: Bool, elapsed: Double) {
        receivers += 1
        if last?.connected == true { connected += 1 }
        if receiver.serverPort != 0 { mediaPorts[receiver.serverPort, default: 0] += 1 }
        let signalled = Set(receiver.streams.values.lazy.filter { !$0.rtx }.map(\.flow))
        for publisher in publishers where publisher != receiver.index {
            for video in [false, true] {
                expectedFlows += 1
                let flow = publisher * 2 + (video ? 1 : 0)
                var got: UInt64 = 0
                if let a = first, let b = last, samePeer {
                    got = b.flowPackets[flow] &- a.flowPackets[flow]
                    if video { videoFrameRates.append(Double(b.flowFrames[flow] &- a.flowFrames[flow]) / elapsed) }
                    if video, got > 0, !b.flowKeyframe[flow] { videoWithoutKeyframe += 1 }
                }
                guard got == 0 else { continue }
                if video { videoMissing += 1 } else { audioMissing += 1 }
                if !signalled.contains(flow) { notSignalled += 1 }
                if missing.count < 300 {
                    let why = signalled.contains(flow) ? "no packets" : "not signalled"
                    missing.append("\(MeetingEnvironment.identity(publisher)) -> \(receiver.identity) \(video ? "video" : "audio") (\(why))")
                }
            }
        }
        guard let a = first, let b = last else {
            silent += 1
            return
        }
        if b.received.packets == a.received.packets { silent += 1 }
        packets &+= b.received.packets &- a.received.packets
        bytes &+= b.received.bytes &- a.received.bytes
        expected += b.received.expected - a.received.expected
        lost += b.received.lost - a.received.lost
        authFailures &+= b.received.authFailures &- a.received.authFailures
        srtpRefused &+= b.received.srtpRefused &- a.received.srtpRefused
        unknown &+= b.received.unknownSSRC &- a.received.unknownSSRC
        latency.merge(b.windowLatency)
    }

    /// The progress line's account of the flows.
    func said(_ label: String) -> String {
        "\(label): \(expectedFlows - missingCount) of \(expectedFlows) flows arrived"
            + (missingCount > 0 ? "; missing \(audioMissing) audio, \(videoMissing) video, e.g. \(missing.prefix(3))" : "")
    }
}
