import CLoadgenNet
import MediaCore

/// Counters of one subscriber.
struct SubscriberStats {
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var videoPackets: UInt64 = 0
    var audioPackets: UInt64 = 0
    var unknownSSRC: UInt64 = 0
    /// RTP packets decrypted and authenticated (all of them).
    var authenticated: UInt64 = 0
    var authFailures: UInt64 = 0
    var replayed: UInt64 = 0
    var rtcpPackets: UInt64 = 0
    var rtcpAuthFailures: UInt64 = 0
    var senderReports: UInt64 = 0
    var plisSent: UInt64 = 0
    var reportsSent: UInt64 = 0
}

/// Watches one publisher over one transport. Decrypts and authenticates every packet, reads the publisher's
/// send stamp at the end of each payload (latency = kernel arrival time - stamp) and counts the packet in
/// `received` by the stamp's stream and slot: the loss over a window is what the publisher sent in it minus
/// what arrived authenticated (`SlotCounter`). Sequence gaps are still tracked, for the receiver reports.
/// Sends a receiver report every second, and a PLI each second while no keyframe has come.
final class Subscriber: LoadPeer, @unchecked Sendable {
    let index: Int
    let identity: String
    let publisherIndex: Int
    let publisherIdentity: String
    let transport: PeerTransport
    let context: DTLSContext
    let setupTimeoutNs: Int64
    /// Latency counts packets stamped inside this window only.
    let window: MeasurementWindow
    var session: SignalledSession?
    /// Its `--subscriber-group` (0 without).
    var group = 0
    var isPublisher: Bool { false }

    private(set) var videoSSRC: UInt32 = 0
    private(set) var audioSSRC: UInt32 = 0
    let rtcpSSRC = UInt32.random(in: 1...UInt32.max)

    /// CLOCK_REALTIME (ns) when the WHEP request was sent, and when the first keyframe packet arrived.
    var subscribeStartNs: Int64 = 0
    private(set) var keyframeArrivalNs: Int64 = 0
    private(set) var video = SequenceTracker()
    private(set) var audio = SequenceTracker()
    private(set) var latency = LatencyHistogram()
    private(set) var stats = SubscriberStats()
    /// Packets received and authenticated, per stream and slot of their send stamp.
    private(set) var received: SlotCounter

    private var nextReportNs: Int64 = 0
    /// Middle 32 bits of the last SR's NTP time per stream and when it came (monotonic), for LSR/DLSR.
    private var videoLSR: (UInt32, Int64) = (0, 0)
    private var audioLSR: (UInt32, Int64) = (0, 0)
    private var videoReported: (expected: Int64, received: Int64) = (0, 0)
    private var audioReported: (expected: Int64, received: Int64) = (0, 0)

    init(index: Int, identity: String, publisherIndex: Int, publisherIdentity: String, context: DTLSContext,
         setupTimeoutNs: Int64, socketBufferBytes: Int32, localIP: String = "127.0.0.1", slotEpochNs: Int64,
         window: MeasurementWindow) throws {
        self.index = index
        self.identity = identity
        self.publisherIndex = publisherIndex
        self.publisherIdentity = publisherIdentity
        self.context = context
        self.setupTimeoutNs = setupTimeoutNs
        received = SlotCounter(epochNs: slotEpochNs)
        self.window = window
        transport = try PeerTransport(socketBufferBytes: socketBufferBytes, ip: localIP)
    }

    func localDescription(audio: Bool, video: Bool) -> LocalPeerDescription {
        var media: [LocalPeerDescription.Media] = []
        if audio { media.append(.init(kind: .audio, mid: "0", payloadType: 111, ssrc: nil)) }
        if video { media.append(.init(kind: .video, mid: "\(media.count)", payloadType: 96, ssrc: nil)) }
        return LocalPeerDescription(
            ufrag: transport.ufrag, password: transport.password, fingerprint: context.certificate.fingerprint,
            ip: transport.ip, port: transport.port, sends: false, media: media, cname: "loadgen-\(identity)", streamID: identity)
    }

    func accept(_ session: SignalledSession) throws {
        videoSSRC = session.remote.media(.video)?.ssrc ?? 0
        audioSSRC = session.remote.media(.audio)?.ssrc ?? 0
        guard videoSSRC != 0 || audioSSRC != 0 else { throw LoadgenError.signalling("the WHEP answer announces no a=ssrc to receive") }
        self.session = session
    }

    var hasKeyframe: Bool { keyframeArrivalNs != 0 }
    var expectsVideo: Bool { videoSSRC != 0 }
    var expectsAudio: Bool { audioSSRC != 0 }
    var expected: Int64 { video.expected + audio.expected }
    var lost: Int64 { video.lost + audio.lost }

    func begin(now: Int64) {
        guard let session else { return }
        transport.controlling = !session.serverOffered
        transport.start(remote: session.remote, context: context, now: now, setupTimeoutNs: setupTimeoutNs)
    }

    // MARK: - Receiving

    func receive(_ data: UnsafeMutableRawPointer, length: Int, arrivalNs: Int64, now: Int64, io: PeerThreadIO) {
        guard length >= 12, data.load(as: UInt8.self) & 0xC0 == 0x80 else {
            transport.handleControl(UnsafeRawBufferPointer(start: data, count: length), now: now)
            return
        }
        let second = data.load(fromByteOffset: 1, as: UInt8.self)
        if second >= 192 && second <= 223 {
            receiveRTCP(data, length: length, now: now)
            return
        }
        stats.packets &+= 1
        stats.bytes &+= UInt64(length)
        let sequence = data.be16(2)
        let ssrc = data.be32(8)
        let isVideo: Bool
        if ssrc == videoSSRC && videoSSRC != 0 {
            isVideo = true
            video.note(sequence)
            stats.videoPackets &+= 1
        } else if ssrc == audioSSRC && audioSSRC != 0 {
            isVideo = false
            audio.note(sequence)
            stats.audioPackets &+= 1
        } else {
            stats.unknownSSRC &+= 1
            return
        }
        let waitingForKeyframe = isVideo && keyframeArrivalNs == 0
        guard let srtp = transport.inbound else { return }
        var plain = length
        switch srtp.unprotectRTP(data, length: &plain) {
        case .ok: stats.authenticated &+= 1
        case .replayed: stats.replayed &+= 1; return
        default: stats.authFailures &+= 1; return
        }
        guard let (header, sent, stream) = SendStamp.read(data, length: plain) else { return }
        received.note(realtimeNs: sent, stream: stream)
        let delay = arrivalNs - sent
        if delay >= 0 && delay < 60_000_000_000 {
            if window.contains(realtimeNs: sent) { latency.record(delay) }
            io.intervalLatency.record(delay)
        }
        if waitingForKeyframe {
            let payload = UnsafeRawBufferPointer(start: data + header.headerLength, count: header.payloadLength)
            if let descriptor = VP8PayloadDescriptor.parse(payload), descriptor.isKeyframeStart {
                keyframeArrivalNs = arrivalNs
            }
        }
    }

    private func receiveRTCP(_ data: UnsafeMutableRawPointer, length: Int, now: Int64) {
        stats.rtcpPackets &+= 1
        guard let srtp = transport.inbound else { return }
        var plain = length
        guard srtp.unprotectRTCP(data, length: &plain) == .ok else {
            stats.rtcpAuthFailures &+= 1
            return
        }
        for packet in RTCPCompound(UnsafeRawBufferPointer(start: data, count: plain))
        where packet.packetType == RTCPPacketType.senderReport {
            guard let report = RTCPSenderReport.parse(packet) else { continue }
            stats.senderReports &+= 1
            let middle = UInt32(truncatingIfNeeded: report.ntpTimestamp >> 16)
            if report.ssrc == videoSSRC { videoLSR = (middle, now) }
            if report.ssrc == audioSSRC { audioLSR = (middle, now) }
        }
    }

    // MARK: - Timers

    func tick(now: Int64, io: PeerThreadIO) -> Int64 {
        transport.tick(now: now)
        guard transport.isConnected else { return now + 5_000_000 }
        if nextReportNs == 0 { nextReportNs = now + 1_000_000_000 }
        if now >= nextReportNs {
            sendReport(now: now, io: io)
            nextReportNs = now + 1_000_000_000
        }
        return nextReportNs
    }

    /// RR with a block per received stream (RFC 3550 6.4.2), plus a PLI while no keyframe came.
    private func sendReport(now: Int64, io: PeerThreadIO) {
        guard let srtp = transport.outbound else { return }
        var blocks: [RTCPReportBlock] = []
        if video.started { blocks.append(block(ssrc: videoSSRC, tracker: video, reported: &videoReported, lsr: videoLSR, now: now)) }
        if audio.started { blocks.append(block(ssrc: audioSSRC, tracker: audio, reported: &audioReported, lsr: audioLSR, now: now)) }
        let out = io.nextSendBuffer
        let room = PeerThreadIO.bufferSize - SRTPContext.maxTrailerLength
        var length = blocks.withUnsafeBufferPointer {
            RTCPReceiverReport.write(ssrc: rtcpSSRC, reportBlocks: $0, into: UnsafeMutableRawBufferPointer(start: out, count: room))
        }
        if expectsVideo && !hasKeyframe {
            length += RTCPPictureLossIndication.write(
                senderSSRC: rtcpSSRC, mediaSSRC: videoSSRC, into: UnsafeMutableRawBufferPointer(start: out + length, count: room - length))
            stats.plisSent &+= 1
        }
        guard length > 0, srtp.protectRTCP(out, length: &length) == .ok else { return }
        io.commit(length: length)
        io.flush(transport.fd)
        stats.reportsSent &+= 1
    }

    private func block(ssrc: UInt32, tracker: SequenceTracker, reported: inout (expected: Int64, received: Int64),
                       lsr: (UInt32, Int64), now: Int64) -> RTCPReportBlock {
        let expectedInterval = tracker.expected - reported.expected
        let receivedInterval = tracker.received - reported.received
        reported = (tracker.expected, tracker.received)
        let lostInterval = expectedInterval - receivedInterval
        let fraction = expectedInterval > 0 && lostInterval > 0 ? UInt8(clamping: lostInterval * 256 / expectedInterval) : 0
        let dlsr = lsr.0 == 0 ? 0 : UInt32(truncatingIfNeeded: (now - lsr.1) * 65_536 / 1_000_000_000)
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(clamping: tracker.lost),
            extendedHighestSequenceNumber: UInt32(truncatingIfNeeded: tracker.highestExtended),
            jitter: 0, lastSenderReport: lsr.0, delaySinceLastSenderReport: dlsr)
    }
}
