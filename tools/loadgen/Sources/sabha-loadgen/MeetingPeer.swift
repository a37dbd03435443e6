import CLoadgenNet
import MediaCore
import Synchronization

/// Which directed flow a received SSRC belongs to: the publishing participant (by its index in the run), audio
/// or video, and whether it is the video's RTX (RFC 4588) repair stream.
struct FlowSource: Sendable, Hashable {
    var publisher: Int
    var video: Bool
    var rtx: Bool

    /// Index of the (publisher, kind) flow in the per-participant counter arrays.
    var flow: Int { publisher * 2 + (video ? 1 : 0) }
}

/// What a meeting participant has received, summed over its streams (including streams that have ended).
struct MeetingReceiveCounters: Sendable {
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var expected: Int64 = 0
    var lost: Int64 = 0
    var authenticated: UInt64 = 0
    var authFailures: UInt64 = 0
    var replayed: UInt64 = 0
    var rtxPackets: UInt64 = 0
    /// Packets on an SSRC no answer announced (yet): the server starts a consumer just before its answer arrives.
    var unknownSSRC: UInt64 = 0
    var rtcpAuthFailures: UInt64 = 0
    var plisSent: UInt64 = 0
    /// Packets the generator could not authenticate for want of an SRTP context (should stay 0).
    var srtpRefused: UInt64 = 0
}

/// A participant's counters as the main thread sees them (copied from the peer thread about 4 times a second).
struct MeetingPeerReport: Sendable {
    /// Per flow (`FlowSource.flow`): RTP packets, and frames (video: packets with the marker bit; audio: packets).
    var flowPackets: [UInt64]
    var flowFrames: [UInt64]
    /// A keyframe start has arrived on this flow (since the stream was announced).
    var flowKeyframe: [Bool]
    var received = MeetingReceiveCounters()
    /// Latency samples since the last `MeetingPeer.markWindow()`.
    var windowLatency = LatencyHistogram()
    var windowEpoch = 0
    var connected = false
    var failure: String?
}

/// One meeting participant's media, as a browser's single peer connection carries it: its own camera (simulcast)
/// and microphone (sent by the embedded `Publisher`, which owns the transport) and every other participant's audio
/// and video on the same transport. Received packets are told apart by SSRC, using the map the signalling side
/// hands over after each answer (`setStreams`), and counted per publisher and kind; a sample is decrypted for
/// latency (as `Subscriber` does), and every video stream is decrypted until its first keyframe. Sends a
/// receiver report per 31 streams each second, with a PLI for each video stream still without a keyframe.
/// A meeting viewer's `Publisher` has no clips: it only runs the transport, and the peer only receives.
///
/// Driven by one peer thread; the main thread talks to it only through `setStreams`, `markWindow` and `report`.
final class MeetingPeer: LoadPeer, @unchecked Sendable {
    final class ReceivedStream {
        let source: FlowSource
        var tracker = SequenceTracker()
        var keyframe = false
        var lastSenderReport: (UInt32, Int64) = (0, 0)
        var reported: (expected: Int64, received: Int64) = (0, 0)
        init(source: FlowSource) { self.source = source }
    }

    let index: Int
    let publisher: Publisher
    var transport: PeerTransport { publisher.transport }
    /// Ticked at the publishers' pace (media timers).
    var isPublisher: Bool { true }
    let decryptEvery: UInt16
    let rtcpSSRC = UInt32.random(in: 1...UInt32.max)
    let report: Mutex<MeetingPeerReport>

    private let incoming = Mutex<[UInt32: FlowSource]?>(nil)
    private let epochRequest = Atomic<Int>(0)
    private var epoch = 0
    private var streams: [UInt32: ReceivedStream] = [:]
    private var shards: SRTPInboundShards?
    private var flowPackets: [UInt64]
    private var flowFrames: [UInt64]
    private var flowKeyframe: [Bool]
    private(set) var received = MeetingReceiveCounters()
    /// expected/lost of streams that have ended.
    private var endedExpected: Int64 = 0
    private var endedLost: Int64 = 0
    private var windowLatency = LatencyHistogram()
    private var nextReportNs: Int64 = 0
    private var reportedConnected = false
    private var reportedFailed = false

    init(index: Int, publisher: Publisher, participants: Int, decryptEvery: Int) {
        self.index = index
        self.publisher = publisher
        self.decryptEvery = UInt16(clamping: max(decryptEvery, 1))
        flowPackets = Array(repeating: 0, count: participants * 2)
        flowFrames = Array(repeating: 0, count: participants * 2)
        flowKeyframe = Array(repeating: false, count: participants * 2)
        report = Mutex(MeetingPeerReport(flowPackets: flowPackets, flowFrames: flowFrames, flowKeyframe: flowKeyframe))
    }

    // MARK: - From the main thread

    /// The streams the latest answer announces (SSRC → flow); applied at the thread's next round.
    func setStreams(_ map: [UInt32: FlowSource]) {
        incoming.withLock { $0 = map }
    }

    /// Starts a new latency window; `report.windowEpoch` shows when the thread has done so.
    func markWindow() -> Int {
        epochRequest.add(1, ordering: .relaxed).newValue
    }

    // MARK: - On the peer thread

    func begin(now: Int64) {
        publisher.begin(now: now)
    }

    func tick(now: Int64, io: PeerThreadIO) -> Int64 {
        if let map = incoming.withLock({ pending -> [UInt32: FlowSource]? in defer { pending = nil }; return pending }) {
            apply(map)
        }
        let requested = epochRequest.load(ordering: .relaxed)
        if requested != epoch {
            epoch = requested
            windowLatency.reset()
        }
        let next = publisher.tick(now: now, io: io)
        if transport.isConnected != reportedConnected || (transport.isFailed && !reportedFailed) {
            // The main thread waits for this (a rejoin completes when media connects): tell it now.
            reportedConnected = transport.isConnected
            reportedFailed = transport.isFailed
            publishReport()
        }
        guard transport.isConnected else { return next }
        if nextReportNs == 0 { nextReportNs = now + 1_000_000_000 }
        if now >= nextReportNs {
            sendReports(now: now, io: io)
            nextReportNs = now + 1_000_000_000
        }
        return min(next, nextReportNs)
    }

    private func apply(_ map: [UInt32: FlowSource]) {
        for (ssrc, stream) in streams where map[ssrc] != stream.source {
            endedExpected += stream.tracker.expected
            endedLost += stream.tracker.lost
            streams[ssrc] = nil
            shards?.retire(ssrc)
        }
        for (ssrc, source) in map where streams[ssrc] == nil {
            streams[ssrc] = ReceivedStream(source: source)
            if !source.rtx && source.flow < flowKeyframe.count { flowKeyframe[source.flow] = false }
        }
    }

    func receive(_ data: UnsafeMutableRawPointer, length: Int, arrivalNs: Int64, now: Int64, io: PeerThreadIO) {
        guard length >= 12, data.load(as: UInt8.self) & 0xC0 == 0x80 else {
            transport.handleControl(UnsafeRawBufferPointer(start: data, count: length), now: now)
            return
        }
        if shards == nil, transport.isConnected {
            let transport = transport
            shards = SRTPInboundShards { transport.makeInboundContext() }
        }
        let second = data.load(fromByteOffset: 1, as: UInt8.self)
        if second >= 192 && second <= 223 {
            receiveRTCP(data, length: length, now: now)
            return
        }
        received.packets &+= 1
        received.bytes &+= UInt64(length)
        let ssrc = data.be32(8)
        guard let stream = streams[ssrc] else {
            received.unknownSSRC &+= 1
            return
        }
        let source = stream.source
        if source.rtx {
            received.rtxPackets &+= 1
            return
        }
        let sequence = data.be16(2)
        stream.tracker.note(sequence)
        guard source.flow < flowPackets.count else { return }
        flowPackets[source.flow] &+= 1
        if !source.video || second & 0x80 != 0 { flowFrames[source.flow] &+= 1 }

        let waitingForKeyframe = source.video && !stream.keyframe
        guard waitingForKeyframe || sequence % decryptEvery == 0 else { return }
        guard let srtp = shards?.context(for: ssrc) else {
            received.srtpRefused &+= 1
            return
        }
        var plain = length
        switch srtp.unprotectRTP(data, length: &plain) {
        case .ok: received.authenticated &+= 1
        case .replayed: received.replayed &+= 1; return
        case .streamTableFull: received.srtpRefused &+= 1; return
        default: received.authFailures &+= 1; return
        }
        guard let (header, sent, _) = SendStamp.read(data, length: plain) else { return }
        let delay = arrivalNs - sent
        if delay >= 0 && delay < 60_000_000_000 {
            windowLatency.record(delay)
            io.intervalLatency.record(delay)
        }
        if waitingForKeyframe {
            let payload = UnsafeRawBufferPointer(start: data + header.headerLength, count: header.payloadLength)
            if let descriptor = VP8PayloadDescriptor.parse(payload), descriptor.isKeyframeStart {
                stream.keyframe = true
                flowKeyframe[source.flow] = true
            }
        }
    }

    private func receiveRTCP(_ data: UnsafeMutableRawPointer, length: Int, now: Int64) {
        guard length >= 8, let srtp = shards?.context(for: data.be32(4)) else {
            received.srtpRefused &+= 1
            return
        }
        var plain = length
        guard srtp.unprotectRTCP(data, length: &plain) == .ok else {
            received.rtcpAuthFailures &+= 1
            return
        }
        let bytes = UnsafeRawBufferPointer(start: data, count: plain)
        for packet in RTCPCompound(bytes) where packet.packetType == RTCPPacketType.senderReport {
            guard let report = RTCPSenderReport.parse(packet), let stream = streams[report.ssrc] else { continue }
            stream.lastSenderReport = (UInt32(truncatingIfNeeded: report.ntpTimestamp >> 16), now)
        }
        publisher.handleRTCP(bytes)
    }

    /// One compound per 31 streams: an RR with their report blocks, and a PLI for each video stream among them
    /// that has not shown a keyframe yet.
    private func sendReports(now: Int64, io: PeerThreadIO) {
        guard let srtp = transport.outbound else { return }
        let active = streams.filter { !$0.value.source.rtx }
        var keys = Array(active.keys)
        keys.sort()
        var start = 0
        while start < keys.count {
            let chunk = keys[start..<min(start + 31, keys.count)]
            start += 31
            var blocks: [RTCPReportBlock] = []
            for ssrc in chunk {
                guard let stream = streams[ssrc], stream.tracker.started else { continue }
                blocks.append(block(ssrc: ssrc, stream: stream, now: now))
            }
            if io.pending == PeerThreadIO.batch { io.flush(transport.fd) }
            let out = io.nextSendBuffer
            let room = PeerThreadIO.bufferSize - SRTPContext.maxTrailerLength
            var length = blocks.withUnsafeBufferPointer {
                RTCPReceiverReport.write(ssrc: rtcpSSRC, reportBlocks: $0, into: UnsafeMutableRawBufferPointer(start: out, count: room))
            }
            for ssrc in chunk {
                guard let stream = streams[ssrc], stream.source.video, !stream.keyframe else { continue }
                length += RTCPPictureLossIndication.write(
                    senderSSRC: rtcpSSRC, mediaSSRC: ssrc, into: UnsafeMutableRawBufferPointer(start: out + length, count: room - length))
                received.plisSent &+= 1
            }
            guard length > 0, srtp.protectRTCP(out, length: &length) == .ok else { continue }
            io.commit(length: length)
        }
        io.flush(transport.fd)
    }

    private func block(ssrc: UInt32, stream: ReceivedStream, now: Int64) -> RTCPReportBlock {
        let tracker = stream.tracker
        let expectedInterval = tracker.expected - stream.reported.expected
        let receivedInterval = tracker.received - stream.reported.received
        stream.reported = (tracker.expected, tracker.received)
        let lostInterval = expectedInterval - receivedInterval
        let fraction = expectedInterval > 0 && lostInterval > 0 ? UInt8(clamping: lostInterval * 256 / expectedInterval) : 0
        let lsr = stream.lastSenderReport
        let dlsr = lsr.0 == 0 ? 0 : UInt32(truncatingIfNeeded: (now - lsr.1) * 65_536 / 1_000_000_000)
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(clamping: tracker.lost),
            extendedHighestSequenceNumber: UInt32(truncatingIfNeeded: tracker.highestExtended),
            jitter: 0, lastSenderReport: lsr.0, delaySinceLastSenderReport: dlsr)
    }

    /// Copies the counters for the main thread (called by the peer thread about 4 times a second).
    func publishReport() {
        var expected = endedExpected
        var lost = endedLost
        for stream in streams.values where !stream.source.rtx {
            expected += stream.tracker.expected
            lost += stream.tracker.lost
        }
        received.expected = expected
        received.lost = lost
        let failure: String? = if case .failed(let reason) = transport.state { reason } else { nil }
        report.withLock { shared in
            shared.flowPackets = flowPackets
            shared.flowFrames = flowFrames
            shared.flowKeyframe = flowKeyframe
            shared.received = received
            shared.windowLatency = windowLatency
            shared.windowEpoch = epoch
            shared.connected = transport.isConnected
            shared.failure = failure
        }
    }
}
