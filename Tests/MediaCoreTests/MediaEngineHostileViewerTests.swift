import Testing
@testable import MediaCore

/// Participants hold valid credentials, so a connected peer may send crafted packets (issue 13, items 2, 4, 6).
/// Each test runs the attack over real loopback UDP with real DTLS-SRTP, and checks the server is alive, the limit
/// holds and an honest viewer of the same publisher is unaffected.
@Suite(.serialized) struct MediaEngineHostileViewerTests {
    static let vp8: UInt8 = 96
    static let publisherSSRC: UInt32 = 0x0DD0_0001

    struct Room {
        let engine: MediaEngine
        let log: MediaEngineLoopbackTests.EventLog
        let publisher: LoopbackPeer
        let honest: LoopbackPeer
        let hostile: LoopbackPeer
        let honestSSRC: UInt32 = 0xA000_0001
        let hostileSSRC: UInt32 = 0xB000_0001
    }

    /// A publisher of one VP8 stream, an honest viewer and a hostile one, all connected. The hostile viewer
    /// negotiated whatever the attack needs (`hostileExtensions`, `hostileFeedback`, RTX).
    static func room(hostileExtensions: HeaderExtensionIDs = HeaderExtensionIDs(),
                     hostileFeedback: RTCPFeedbackSet = [.nack, .pli], mid: String = "1") async throws -> Room {
        let (engine, log) = try MediaEngineLoopbackTests.makeEngine()
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "hpub")
        let honest = try LoopbackPeer(serverPort: engine.port, ufrag: "honest")
        let hostile = try LoopbackPeer(serverPort: engine.port, ufrag: "hostile")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "r"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [publisherSSRC], payloadType: vp8, clockRate: 90000,
                               extensions: HeaderExtensionIDs()))
        honest.remote = try await engine.createTransport(honest.parameters(room: "r"))
        hostile.remote = try await engine.createTransport(hostile.parameters(room: "r"))
        let room = Room(engine: engine, log: log, publisher: publisher, honest: honest, hostile: hostile)
        _ = try await engine.addConsumer(
            transport: honest.remote!.id,
            ConsumerParameters(producer: producer, mid: "1", ssrc: room.honestSSRC, payloadType: 100, extensions: HeaderExtensionIDs()))
        _ = try await engine.addConsumer(
            transport: hostile.remote!.id,
            ConsumerParameters(producer: producer, mid: mid, ssrc: room.hostileSSRC, payloadType: 100, extensions: hostileExtensions,
                               rtxPayloadType: 101, rtxSSRC: room.hostileSSRC + 1, feedback: hostileFeedback))
        #expect(try publisher.connect())
        #expect(try honest.connect())
        #expect(try hostile.connect())
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 3 })
        return room
    }

    /// One VP8 packet of `size` payload bytes (a keyframe start when `keyframe`).
    static func sendVideo(_ room: Room, sequence: UInt16, keyframe: Bool, size: Int = 1000) {
        let payload = [0x10, keyframe ? 0x00 : 0x01] + [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: size - 2)
        room.publisher.sendRTP(payloadType: vp8, sequence: sequence, timestamp: UInt32(sequence) * 3000,
                               ssrc: publisherSSRC, marker: true, payload: payload)
    }

    /// Sequence numbers of the RTP packets `peer` receives on `ssrc` within `ms`.
    static func received(_ peer: LoopbackPeer, ssrc: UInt32, forMs ms: Int64) -> (sequences: [UInt16], largest: Int) {
        var sequences: [UInt16] = []
        var largest = 0
        peer.receiveMedia(forMs: ms) { received in
            guard case .rtp(let bytes) = received, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) else { return }
            largest = max(largest, bytes.count)
            if header.ssrc == ssrc { sequences.append(header.sequenceNumber) }
        }
        return (sequences, largest)
    }

    /// What the honest viewer still receives, until it has all `expected` packets or 3 s passed (a loaded
    /// machine may be that far behind).
    static func collectRest(_ room: Room, have: Int, of expected: Int) -> Int {
        var got = 0
        let end = MonotonicClock.milliseconds() + 3000
        while have + got < expected && MonotonicClock.milliseconds() < end {
            got += received(room.honest, ssrc: room.honestSSRC, forMs: 100).sequences.count
        }
        return got
    }

    /// A transport-wide feedback packet (RTPFB 15) whose status chunks are run-length chunks of `symbol`
    /// covering `statusCount` packets, with one small delta per received packet.
    static func feedback(reference: Int32, statusCount: UInt16, symbol: UInt16, mediaSSRC: UInt32) -> [UInt8] {
        var body: [UInt8] = [0, 0, 0, 9, UInt8(mediaSSRC >> 24), UInt8((mediaSSRC >> 16) & 0xFF), UInt8((mediaSSRC >> 8) & 0xFF),
                             UInt8(mediaSSRC & 0xFF), 0, 1, UInt8(statusCount >> 8), UInt8(statusCount & 0xFF),
                             UInt8((reference >> 16) & 0xFF), UInt8((reference >> 8) & 0xFF), UInt8(reference & 0xFF), 0]
        var remaining = Int(statusCount)
        while remaining > 0 {
            let run = min(remaining, 8191)
            let chunk = symbol << 13 | UInt16(run)
            body += [UInt8(chunk >> 8), UInt8(chunk & 0xFF)]
            remaining -= run
        }
        if symbol == 1 { body += [UInt8](repeating: 1, count: Int(statusCount)) }
        while body.count % 4 != 0 { body.append(0) }
        let words = UInt16(body.count / 4)
        return [0x8F, 205, UInt8(words >> 8), UInt8(words & 0xFF)] + body
    }

    @Test func aViewerFloodingCraftedTransportFeedbackNeitherCrashesTheServerNorDisturbsOthers() async throws {
        var extensions = HeaderExtensionIDs()
        extensions.transportWideCC = 3
        let room = try await Self.room(hostileExtensions: extensions, hostileFeedback: [.nack, .pli, .transportCC])
        let engine = room.engine
        defer { Task { await engine.shutdown() } }
        var sequence: UInt16 = 100
        Self.sendVideo(room, sequence: sequence, keyframe: true)
        var honestGot = Self.received(room.honest, ssrc: room.honestSSRC, forMs: 200).sequences.count
        var sent = 1
        var reference: Int32 = 0
        for round in 0..<40 {
            // 250 crafted reports a round: reference times cycling through the 24-bit wrap (the overflow of
            // issue 13), and reports naming 65 535 packets in 16 bytes of run-length chunks.
            for i in 0..<250 {
                reference = ((reference &+ 6_000_000) << 8) >> 8
                let bytes = i % 2 == 0
                    ? Self.feedback(reference: reference, statusCount: 1, symbol: 1, mediaSSRC: room.hostileSSRC)
                    : Self.feedback(reference: reference, statusCount: 65_535, symbol: 0, mediaSSRC: room.hostileSSRC)
                room.hostile.sendRTCP(bytes)
            }
            sequence &+= 1
            Self.sendVideo(room, sequence: sequence, keyframe: false)
            sent += 1
            honestGot += Self.received(room.honest, ssrc: room.honestSSRC, forMs: 20).sequences.count
            if round % 10 == 0 { _ = Self.received(room.hostile, ssrc: 0, forMs: 1) }
        }
        honestGot += Self.collectRest(room, have: honestGot, of: sent)
        #expect(honestGot == sent, "the honest viewer got every packet while 10 000 crafted reports arrived")
        let stats = await room.engine.stats()
        #expect(stats.transports == 3 && stats.consumers == 2, "the server is alive and nobody was closed")
    }

    @Test func aPacketTooLargeToForwardIsCountedAndNothingOverrunsAPoolBuffer() async throws {
        // The largest header we write: a 16-byte MID, the transport-wide sequence, RTX. Old code: header 36 +
        // payload 2000 + tag 16 = 2052 bytes written into a 2048-byte pool buffer.
        var extensions = HeaderExtensionIDs()
        extensions.mid = 1
        extensions.transportWideCC = 3
        let room = try await Self.room(hostileExtensions: extensions, hostileFeedback: [.nack, .pli, .transportCC],
                                       mid: "0123456789abcdef")
        let engine = room.engine
        defer { Task { await engine.shutdown() } }
        Self.sendVideo(room, sequence: 1, keyframe: true, size: 200)
        Self.sendVideo(room, sequence: 2, keyframe: false, size: 2000)  // the receive buffer takes it: 12 + 2000 + 16
        Self.sendVideo(room, sequence: 3, keyframe: false, size: Consumer.maxPayloadLength)
        Self.sendVideo(room, sequence: 4, keyframe: false, size: 300)
        let hostile = Self.received(room.hostile, ssrc: room.hostileSSRC, forMs: 300)
        let honest = Self.received(room.honest, ssrc: room.honestSSRC, forMs: 300)
        #expect(hostile.sequences.count == 3 && honest.sequences.count == 3, "all but the oversized packet arrive")
        #expect(hostile.largest <= PacketBufferPool.bufferSize)
        let stats = await room.engine.stats()
        #expect(stats.dropped["tooLarge"] == 1)
        #expect(stats.poolBuffersInUse == 0)
    }

    @Test func nacksNamingEveryPacketResendAtMostHalfTheStream() async throws {
        // A viewer without a bandwidth estimate (no transport-cc, no REMB) NACKs every packet it got, over and
        // over. Old code: every packet resent every 40 ms, several times the stream's bitrate.
        let room = try await Self.room()
        let engine = room.engine
        defer { Task { await engine.shutdown() } }
        var sequence: UInt16 = 1000
        Self.sendVideo(room, sequence: sequence, keyframe: true)
        var seen: [UInt16] = []
        var honestGot = 0
        var sent = 1
        let size = 1000
        for _ in 0..<60 {
            for _ in 0..<5 {
                sequence &+= 1
                Self.sendVideo(room, sequence: sequence, keyframe: false, size: size)
                sent += 1
            }
            seen += Self.received(room.hostile, ssrc: room.hostileSSRC, forMs: 15).sequences
            honestGot += Self.received(room.honest, ssrc: room.honestSSRC, forMs: 15).sequences.count
            let lost = Array(Set(seen)).sorted().suffix(250)
            var nack = [UInt8](repeating: 0, count: 1200)
            let length = lost.withUnsafeBufferPointer { list in
                nack.withUnsafeMutableBytes {
                    RTCPGenericNACK.write(senderSSRC: 9, mediaSSRC: room.hostileSSRC, lost: list, into: $0)
                }
            }
            room.hostile.sendRTCP(Array(nack[0..<length]))
        }
        honestGot += Self.collectRest(room, have: honestGot, of: sent)
        let stats = await room.engine.stats()
        let mediaBytes = sent * size
        let resentBytes = Int(stats.packetsRetransmitted) * (size + 2)
        print("NACK storm: \(stats.nackedPacketsReceived) packets NACKed, \(stats.packetsRetransmitted) resent: "
              + "\(resentBytes) bytes for \(mediaBytes) bytes of media")
        #expect(stats.nackedPacketsReceived > 5_000, "the viewer asked for many thousands of resends")
        // Half the media, plus the per-period floor (about 10 periods of 200 ms in the run).
        #expect(resentBytes <= mediaBytes / 2 + 12 * WebRTCTransport.minimumRetransmitBudget,
                "resent \(resentBytes) bytes for \(mediaBytes) bytes of media")
        #expect(stats.packetsRetransmitted > 0, "genuine losses would still be repaired")
        #expect(honestGot == sent)
    }

    @Test func aPublisherOfManyVideoStreamsGetsRetransmissionBuffersOnlyWithinItsAllowance() async throws {
        let (engine, _) = try MediaEngineLoopbackTests.makeEngine()
        defer { Task { await engine.shutdown() } }
        let greedy = try LoopbackPeer(serverPort: engine.port, ufrag: "greedy")
        let other = try LoopbackPeer(serverPort: engine.port, ufrag: "other")
        let greedyTransport = try await engine.createTransport(greedy.parameters(room: "r"))
        let otherTransport = try await engine.createTransport(other.parameters(room: "r"))
        func simulcast(_ mid: Int) -> ProducerParameters {
            ProducerParameters(kind: .video, mid: "\(mid)", ssrcs: [], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs(),
                               encodings: [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h"), ProducerEncoding(rid: "f")])
        }
        // 64 simulcast video m-lines (an SDP may carry that many): 84 MB of buffers before the allowance.
        var greedyProducers: [ProducerID] = []
        for mid in 0..<64 { greedyProducers.append(try await engine.addProducer(transport: greedyTransport.id, simulcast(mid))) }
        let perProducer = (128 + 256 + 512) * 1500
        // The worker publishes its counters after the command that replied: wait for them.
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { await engine.stats().producers == 64 },
                "every stream is still received and forwarded")
        var stats = await engine.stats()
        #expect(stats.retransmissionBufferBytes == 3 * perProducer, "4 MiB per transport: three simulcast cameras")
        #expect(stats.retransmissionBuffersRefused == 61)
        // Another participant is unaffected.
        _ = try await engine.addProducer(transport: otherTransport.id, simulcast(0))
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { await engine.stats().producers == 65 })
        stats = await engine.stats()
        #expect(stats.retransmissionBufferBytes == 4 * perProducer)
        for id in greedyProducers { await engine.closeProducer(id) }
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { await engine.stats().producers == 1 })
        stats = await engine.stats()
        #expect(stats.retransmissionBufferBytes == perProducer, "closing producers gives their memory back")
    }
}
