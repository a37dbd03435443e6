import CLoadgenNet
import MediaCore

/// Counters of one publisher.
struct PublisherStats {
    var packetsSent: UInt64 = 0
    var bytesSent: UInt64 = 0
    var videoFrames: UInt64 = 0
    var keyframes: UInt64 = 0
    var audioFrames: UInt64 = 0
    /// Frames not sent because the thread fell behind by more than `Publisher.maxLateNs`.
    var skippedFrames: UInt64 = 0
    var pliReceived: UInt64 = 0
    var firReceived: UInt64 = 0
    var nackReceived: UInt64 = 0
    var receiverReports: UInt64 = 0
    var rtcpAuthFailures: UInt64 = 0
    /// PLI/FIR ignored because a keyframe was requested less than `Publisher.minKeyframeIntervalNs` before.
    var keyframeRequestsThrottled: UInt64 = 0
}

/// Publishes the clip over one transport: VP8 frames every 1/fps s, packetised per RFC 7741 (15-bit PictureID),
/// Opus every 20 ms, sender reports every second. Video goes through a pacer, as a browser's does (WebRTC's
/// pacer sends at 2.5× the target bitrate): a frame's packets leave spread out at `pacingBytesPerSecond`, a
/// keyframe over tens of milliseconds, not as one burst. Audio is not paced. Every RTP payload ends with 8 bytes: the CLOCK_REALTIME
/// nanoseconds at which the packet was built and the stream it belongs to (`SendStamp`; servers forward payloads
/// unchanged), for subscribers' latency and loss; `sent` counts them per stream and slot of that stamp.
/// A PLI or FIR makes the next frame the clip's keyframe, at most once per 300 ms as libwebrtc's
/// `EncoderRtcpFeedback` allows (`kMinKeyframeSendIntervalMs`): requests in between are counted and dropped. With simulcast, every frame time sends one frame of
/// each layer (lowest first), each layer its own SSRC, sequence numbers and PictureIDs, marked with the MID and
/// RID header extensions (RFC 8852) as browsers do.
final class Publisher: LoadPeer, @unchecked Sendable {
    static let maxVP8DataPerPacket = 1100
    static let stampLength = 8
    static let maxLateNs: Int64 = 250_000_000
    /// Frames waiting in the pacer beyond this are sent at once (the pacer fell behind, e.g. a slow thread).
    static let maxPacerQueue = 8
    /// libwebrtc's minimum time between keyframes sent on request.
    static let minKeyframeIntervalNs: Int64 = 300_000_000

    /// A video frame in the pacer: what its packets need, and how many have left.
    struct PacedFrame {
        var layer: Int
        var clipIndex: Int
        var timestamp: UInt32
        var pictureID: UInt16
        var packets: Int
        var sent = 0
        var offset = 0
    }

    let index: Int
    let identity: String
    let transport: PeerTransport
    /// The video clip of each simulcast layer, lowest first (one without simulcast); `video` is the top one.
    let videoLayers: [VideoClip]
    var video: VideoClip? { videoLayers.last }
    let audio: AudioClip?
    let context: DTLSContext
    let setupTimeoutNs: Int64
    /// Video pacing rate; 0 sends each frame as one burst.
    let pacingBytesPerSecond: Double
    var session: SignalledSession?
    var isPublisher: Bool { true }

    /// RIDs of the layers (empty without simulcast), as in our meeting client.
    let rids: [String]
    let videoSSRCs: [UInt32]
    var videoSSRC: UInt32 { videoSSRCs.last ?? 0 }
    let audioSSRC = UInt32.random(in: 1...UInt32.max)
    private(set) var videoPayloadType: UInt8 = 96
    private(set) var audioPayloadType: UInt8 = 111

    private var mediaStartNs: Int64 = 0
    private var videoFrameCount: Int64 = 0
    private var audioFrameCount: Int64 = 0
    private var clipIndex: [Int]
    private var audioIndex = 0
    private var pictureID: [UInt16]
    private var videoSequence: [UInt16]
    private var audioSequence = UInt16.random(in: 0...UInt16.max)
    private let videoTimestampBase = UInt32.random(in: 0...UInt32.max)
    private let audioTimestampBase = UInt32.random(in: 0...UInt32.max)
    private var videoPackets: [UInt32]
    private var videoOctets: [UInt32]
    private var audioPackets: UInt32 = 0
    private var audioOctets: UInt32 = 0
    private var keyframeRequested: [Bool]
    private var lastKeyframeRequestNs: Int64 = -1
    private var pacerQueue: [PacedFrame] = []
    private var pacerNextSendNs: Int64 = 0
    private var nextReportNs: Int64 = 0
    private(set) var stats = PublisherStats()
    /// Packets sent, per stream and slot of their send stamp.
    private(set) var sent: SlotCounter

    /// MID and RID header extension ids we offer with simulcast.
    static let midExtensionID: UInt8 = 1
    static let ridExtensionID: UInt8 = 2

    init(index: Int, identity: String, videoLayers: [VideoClip], audio: AudioClip?, context: DTLSContext,
         setupTimeoutNs: Int64, socketBufferBytes: Int32, localIP: String = "127.0.0.1", pacingFactor: Double = 2.5,
         slotEpochNs: Int64 = lg_realtime_ns()) throws {
        precondition(videoLayers.count <= 3)
        self.index = index
        self.identity = identity
        self.videoLayers = videoLayers
        let count = videoLayers.count
        rids = count > 1 ? Array(["q", "h", "f"].suffix(count)) : []
        videoSSRCs = (0..<count).map { _ in UInt32.random(in: 1...UInt32.max) }
        clipIndex = Array(repeating: 0, count: count)
        pictureID = (0..<count).map { _ in UInt16.random(in: 0...0x7FFF) }
        videoSequence = (0..<count).map { _ in UInt16.random(in: 0...UInt16.max) }
        videoPackets = Array(repeating: 0, count: count)
        videoOctets = Array(repeating: 0, count: count)
        keyframeRequested = Array(repeating: false, count: count)
        sent = SlotCounter(epochNs: slotEpochNs)
        self.audio = audio
        self.context = context
        self.setupTimeoutNs = setupTimeoutNs
        pacingBytesPerSecond = pacingFactor * videoLayers.reduce(0) { $0 + $1.averageKbps } * 1000 / 8
        pacerQueue.reserveCapacity(3 * (Self.maxPacerQueue + 1))
        transport = try PeerTransport(socketBufferBytes: socketBufferBytes, ip: localIP)
    }

    /// The offer's description: audio on mid 0, video on the next (simulcast with rids when there are layers),
    /// video with an RTX payload type when `rtxPayloadType` is not 0 (as browsers offer).
    func localDescription(rtxPayloadType: UInt8 = 0) -> LocalPeerDescription {
        var media: [LocalPeerDescription.Media] = []
        if audio != nil { media.append(.init(kind: .audio, mid: "0", payloadType: audioPayloadType, ssrc: audioSSRC)) }
        if video != nil {
            media.append(.init(kind: .video, mid: "\(media.count)", payloadType: videoPayloadType, ssrc: videoSSRC, rids: rids,
                               midExtensionID: Self.midExtensionID, ridExtensionID: Self.ridExtensionID, rtxPayloadType: rtxPayloadType))
        }
        return LocalPeerDescription(
            ufrag: transport.ufrag, password: transport.password, fingerprint: context.certificate.fingerprint,
            ip: transport.ip, port: transport.port, sends: true, media: media, cname: "loadgen-\(identity)", streamID: identity)
    }

    /// Takes the payload types the server answered (it echoes ours, but a signalling may choose others).
    func accept(_ session: SignalledSession) throws {
        if video != nil {
            guard let media = session.remote.media(.video) else { throw LoadgenError.signalling("the server refused the VP8 m-line") }
            videoPayloadType = media.payloadType
        }
        if audio != nil {
            guard let media = session.remote.media(.audio) else { throw LoadgenError.signalling("the server refused the Opus m-line") }
            audioPayloadType = media.payloadType
        }
        self.session = session
    }

    func begin(now: Int64) {
        guard let session else { return }
        transport.controlling = !session.serverOffered
        transport.start(remote: session.remote, context: context, now: now, setupTimeoutNs: setupTimeoutNs)
    }

    // MARK: - Sending

    func tick(now: Int64, io: PeerThreadIO) -> Int64 {
        transport.tick(now: now)
        guard transport.isConnected else { return now + 5_000_000 }
        if mediaStartNs == 0 {
            mediaStartNs = now
            nextReportNs = now + 500_000_000
        }
        var next = now + 100_000_000
        if let video {
            let fps = Int64(video.fps)
            var due = mediaStartNs + videoFrameCount * 1_000_000_000 / fps
            if now - due > Self.maxLateNs {
                let caughtUp = (now - mediaStartNs) * fps / 1_000_000_000
                stats.skippedFrames &+= UInt64(caughtUp - videoFrameCount)
                videoFrameCount = caughtUp
                due = mediaStartNs + videoFrameCount * 1_000_000_000 / fps
            }
            while due <= now {
                for layer in videoLayers.indices { enqueueVideoFrame(layer: layer) }
                videoFrameCount += 1
                due = mediaStartNs + videoFrameCount * 1_000_000_000 / fps
            }
            next = min(next, due)
            if let paceAt = sendPacedVideo(now: now, io: io) { next = min(next, paceAt) }
        }
        if let audio {
            var due = mediaStartNs + audioFrameCount * 20_000_000
            if now - due > Self.maxLateNs {
                let caughtUp = (now - mediaStartNs) / 20_000_000
                stats.skippedFrames &+= UInt64(caughtUp - audioFrameCount)
                audioFrameCount = caughtUp
                due = mediaStartNs + audioFrameCount * 20_000_000
            }
            while due <= now {
                sendAudioFrame(audio, io: io)
                audioFrameCount += 1
                due = mediaStartNs + audioFrameCount * 20_000_000
            }
            next = min(next, due)
        }
        if now >= nextReportNs {
            sendSenderReports(io: io)
            nextReportNs = now + 1_000_000_000
        }
        io.flush(transport.fd)
        return min(next, nextReportNs)
    }

    /// Queues the next frame of one layer's clip (a requested keyframe restarts that clip).
    private func enqueueVideoFrame(layer: Int) {
        let clip = videoLayers[layer]
        if keyframeRequested[layer] {
            keyframeRequested[layer] = false
            clipIndex[layer] = 0
        }
        let frame = clip.frames[clipIndex[layer]]
        if layer == videoLayers.count - 1 {
            if frame.isKey { stats.keyframes &+= 1 }
            stats.videoFrames &+= 1
        }
        let timestamp = videoTimestampBase &+ UInt32(truncatingIfNeeded: videoFrameCount * 90_000 / Int64(clip.fps))
        let packets = (frame.data.count + Self.maxVP8DataPerPacket - 1) / Self.maxVP8DataPerPacket
        pacerQueue.append(PacedFrame(layer: layer, clipIndex: clipIndex[layer], timestamp: timestamp,
                                     pictureID: pictureID[layer], packets: packets))
        clipIndex[layer] = (clipIndex[layer] + 1) % clip.frames.count
        pictureID[layer] = (pictureID[layer] &+ 1) & 0x7FFF
    }

    /// Sends the queued video packets whose pacing time has come; returns when the next one is due
    /// (nil: the queue is empty). Without pacing, or with too many frames queued, everything goes now.
    private func sendPacedVideo(now: Int64, io: PeerThreadIO) -> Int64? {
        let unpaced = pacingBytesPerSecond <= 0 || pacerQueue.count > Self.maxPacerQueue * videoLayers.count
        if pacerNextSendNs < now - 5_000_000 { pacerNextSendNs = now - 5_000_000 }   // no credit beyond 5 ms
        var sentAny = false
        while !pacerQueue.isEmpty && (unpaced || pacerNextSendNs <= now) {
            let bytes = sendVideoPacket(frame: &pacerQueue[0], io: io)
            sentAny = true
            if !unpaced { pacerNextSendNs += Int64(Double(bytes) * 1e9 / pacingBytesPerSecond) }
            if pacerQueue[0].sent == pacerQueue[0].packets { pacerQueue.removeFirst() }
        }
        if sentAny { io.flush(transport.fd) }
        return pacerQueue.isEmpty ? nil : pacerNextSendNs
    }

    /// Builds, stamps, protects and queues the frame's next packet; returns its size on the wire.
    private func sendVideoPacket(frame paced: inout PacedFrame, io: PeerThreadIO) -> Int {
        let layer = paced.layer
        let frame = videoLayers[layer].frames[paced.clipIndex]
        let p = paced.sent
        let size = frame.data.count
        let chunk = size / paced.packets + (p < size % paced.packets ? 1 : 0)
        paced.sent += 1
        defer { paced.offset += chunk }
        guard let srtp = transport.outbound else { return chunk }
        if io.pending == PeerThreadIO.batch { io.flush(transport.fd) }
        let out = io.nextSendBuffer
        var header = 12
        out.storeBytes(of: rids.isEmpty ? 0x80 : 0x90, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: (p == paced.packets - 1 ? 0x80 : 0) | videoPayloadType, toByteOffset: 1, as: UInt8.self)
        out.put16(videoSequence[layer], 2)
        out.put32(paced.timestamp, 4)
        out.put32(videoSSRCs[layer], 8)
        if !rids.isEmpty, let mid = videoMID.utf8.first, let rid = rids[layer].utf8.first {
            // RFC 8285 one-byte elements, one word: MID (1 byte) and RID (1 byte).
            out.put16(0xBEDE, 12)
            out.put16(1, 14)
            out.storeBytes(of: Self.midExtensionID << 4, toByteOffset: 16, as: UInt8.self)
            out.storeBytes(of: mid, toByteOffset: 17, as: UInt8.self)
            out.storeBytes(of: Self.ridExtensionID << 4, toByteOffset: 18, as: UInt8.self)
            out.storeBytes(of: rid, toByteOffset: 19, as: UInt8.self)
            header = 20
        }
        // RFC 7741 4.2: X=1, S on the frame's first packet, PID 0; I=1; M=1 with a 15-bit PictureID.
        out.storeBytes(of: p == 0 ? 0x90 : 0x80, toByteOffset: header, as: UInt8.self)
        out.storeBytes(of: 0x80, toByteOffset: header + 1, as: UInt8.self)
        out.put16(0x8000 | paced.pictureID, header + 2)
        frame.data.withUnsafeBytes { (out + header + 4).copyMemory(from: $0.baseAddress! + paced.offset, byteCount: chunk) }
        let stampNs = lg_realtime_ns()
        out.put64(SendStamp.encode(realtimeNs: stampNs, stream: layer), header + 4 + chunk)
        var length = header + 4 + chunk + Self.stampLength
        videoSequence[layer] &+= 1
        guard srtp.protectRTP(out, length: &length) == .ok else { return length }
        io.commit(length: length)
        stats.packetsSent &+= 1
        stats.bytesSent &+= UInt64(length)
        videoPackets[layer] &+= 1
        sent.note(realtimeNs: stampNs, stream: layer)
        videoOctets[layer] &+= UInt32(truncatingIfNeeded: chunk + 4 + Self.stampLength)
        return length
    }

    private func sendAudioFrame(_ clip: AudioClip, io: PeerThreadIO) {
        guard let srtp = transport.outbound else { return }
        let frame = clip.frames[audioIndex]
        audioIndex = (audioIndex + 1) % clip.frames.count
        stats.audioFrames &+= 1
        if io.pending == PeerThreadIO.batch { io.flush(transport.fd) }
        let out = io.nextSendBuffer
        out.storeBytes(of: 0x80, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: (audioFrameCount == 0 ? 0x80 : 0) | audioPayloadType, toByteOffset: 1, as: UInt8.self)
        out.put16(audioSequence, 2)
        out.put32(audioTimestampBase &+ UInt32(truncatingIfNeeded: audioFrameCount * Int64(AudioClip.samplesPerFrame)), 4)
        out.put32(audioSSRC, 8)
        frame.withUnsafeBytes { (out + 12).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let stampNs = lg_realtime_ns()
        out.put64(SendStamp.encode(realtimeNs: stampNs, stream: SendStamp.audioStream), 12 + frame.count)
        var length = 12 + frame.count + Self.stampLength
        audioSequence &+= 1
        guard srtp.protectRTP(out, length: &length) == .ok else { return }
        io.commit(length: length)
        stats.packetsSent &+= 1
        stats.bytesSent &+= UInt64(length)
        audioPackets &+= 1
        sent.note(realtimeNs: stampNs, stream: SendStamp.audioStream)
        audioOctets &+= UInt32(truncatingIfNeeded: frame.count + Self.stampLength)
    }

    /// One compound: an SR per stream (RFC 3550 6.4.1), so the server (and its viewers) can map RTP time.
    private func sendSenderReports(io: PeerThreadIO) {
        guard let srtp = transport.outbound else { return }
        if io.pending == PeerThreadIO.batch { io.flush(transport.fd) }
        let out = io.nextSendBuffer
        let realtime = lg_realtime_ns()
        let ntp = ntpTimestamp(realtimeNs: realtime)
        let elapsedNs = lg_monotonic_ns() - mediaStartNs
        var length = 0
        let room = PeerThreadIO.bufferSize - SRTPContext.maxTrailerLength
        for layer in videoLayers.indices {
            length += RTCPSenderReport.write(
                ssrc: videoSSRCs[layer], ntpTimestamp: ntp,
                rtpTimestamp: videoTimestampBase &+ UInt32(truncatingIfNeeded: elapsedNs * 90 / 1_000_000),
                packetCount: videoPackets[layer], octetCount: videoOctets[layer],
                into: UnsafeMutableRawBufferPointer(start: out + length, count: room - length))
        }
        if audio != nil {
            length += RTCPSenderReport.write(
                ssrc: audioSSRC, ntpTimestamp: ntp,
                rtpTimestamp: audioTimestampBase &+ UInt32(truncatingIfNeeded: elapsedNs * 48 / 1_000_000),
                packetCount: audioPackets, octetCount: audioOctets,
                into: UnsafeMutableRawBufferPointer(start: out + length, count: room - length))
        }
        guard length > 0, srtp.protectRTCP(out, length: &length) == .ok else { return }
        io.commit(length: length)
    }

    // MARK: - Receiving

    func receive(_ data: UnsafeMutableRawPointer, length: Int, arrivalNs: Int64, now: Int64, io: PeerThreadIO) {
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        guard length >= 8, data.load(as: UInt8.self) & 0xC0 == 0x80 else {
            transport.handleControl(bytes, now: now)
            return
        }
        let type = data.load(fromByteOffset: 1, as: UInt8.self)
        guard type >= 192 && type <= 223, let srtp = transport.inbound else { return }
        var plain = length
        guard srtp.unprotectRTCP(data, length: &plain) == .ok else {
            stats.rtcpAuthFailures &+= 1
            return
        }
        handleRTCP(UnsafeRawBufferPointer(start: data, count: plain))
    }

    /// Feedback for what we send, from a decrypted compound: PLI/FIR restart the clips (throttled); NACKs and
    /// receiver reports are counted. (A meeting participant decrypts its RTCP itself and passes it here.)
    func handleRTCP(_ plain: UnsafeRawBufferPointer) {
        for packet in RTCPCompound(plain) {
            switch packet.packetType {
            case RTCPPacketType.payloadSpecificFeedback where packet.count == RTCPPictureLossIndication.format:
                stats.pliReceived &+= 1
                requestKeyframe()
            case RTCPPacketType.payloadSpecificFeedback where packet.count == RTCPFullIntraRequest.format:
                stats.firReceived &+= 1
                requestKeyframe()
            case RTCPPacketType.transportFeedback where packet.count == RTCPGenericNACK.format:
                stats.nackReceived &+= 1
            case RTCPPacketType.receiverReport:
                stats.receiverReports &+= 1
            default:
                break
            }
        }
    }

    /// A PLI or FIR (for any of our SSRCs) restarts every layer's clip at its keyframe, as libwebrtc does by
    /// default (per-layer keyframes are a field trial), and at most once per 300 ms: requests in between
    /// are dropped, as `EncoderRtcpFeedback` drops them.
    private func requestKeyframe() {
        let now = lg_monotonic_ns()
        if lastKeyframeRequestNs >= 0 && now - lastKeyframeRequestNs < Self.minKeyframeIntervalNs {
            stats.keyframeRequestsThrottled &+= 1
            return
        }
        lastKeyframeRequestNs = now
        for layer in keyframeRequested.indices { keyframeRequested[layer] = true }
    }

    /// The video m-line's MID (written into the MID header extension with simulcast).
    private var videoMID: String { audio != nil ? "1" : "0" }
}
