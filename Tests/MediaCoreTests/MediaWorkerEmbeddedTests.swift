import Testing
@testable import MediaCore

/// The worker on memory I/O with a clock the test moves (`EmbeddedWorker`): the same ICE, DTLS, SRTP and routing
/// code as over UDP, without sockets, threads or waiting. Timers are tested by moving the clock.
@Suite struct MediaWorkerEmbeddedTests {
    static func connectedPair(_ embedded: EmbeddedWorker) throws -> (publisher: LoopbackPeer, viewer: LoopbackPeer, producer: ProducerID) {
        let publisher = try embedded.peer(ufrag: "pubm")
        let viewer = try embedded.peer(ufrag: "viewm")
        let publisherTransport = try embedded.createTransport(for: publisher, room: "r")
        let producer = try embedded.addProducer(
            on: publisherTransport.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs()))
        let viewerTransport = try embedded.createTransport(for: viewer, room: "r")
        _ = try embedded.addConsumer(
            on: viewerTransport.id,
            ConsumerParameters(producer: producer, mid: "1", ssrc: 2222, payloadType: 100, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        return (publisher, viewer, producer)
    }

    @Test func forwardsRewrittenMediaAndKeyframeRequestsWithoutSockets() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, viewer, _) = try Self.connectedPair(embedded)
        #expect(embedded.events.filter { if case .transportConnected = $0 { true } else { false } }.count == 2)
        for i in 0..<20 {
            publisher.sendRTP(payloadType: 96, sequence: 100 &+ UInt16(i), timestamp: UInt32(i / 4) * 3000, ssrc: 1111,
                              marker: i % 4 == 3, payload: MediaEngineLoopbackTests.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
        var received: [RTPHeader] = []
        viewer.receiveMedia(forMs: 50) { packet in
            if case .rtp(let bytes) = packet, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) { received.append(header) }
        }
        #expect(received.count == 20)
        #expect(received.allSatisfy { $0.ssrc == 2222 && $0.payloadType == 100 })
        #expect(zip(received, received.dropFirst()).allSatisfy { $1.sequenceNumber == $0.sequenceNumber &+ 1 })
        #expect(embedded.worker.local.rtpForwarded == 20)
        #expect(embedded.worker.poolInUse == 0, "every buffer went back to the pool")
    }

    @Test func aSilentPeerIsClosedWhenConsentExpiresOnTheWorkersClock() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, _, _) = try Self.connectedPair(embedded)
        embedded.advance(milliseconds: 29_000)
        publisher.sendBindingRequest()  // only the publisher keeps consent alive
        embedded.turn()
        embedded.advance(milliseconds: 2_000)
        let closed = embedded.events.compactMap { event -> TransportCloseReason? in
            if case .transportClosed(_, let reason) = event { reason } else { nil }
        }
        #expect(closed == [.consentExpired], "the viewer, silent for 31 s, is closed; the publisher is not")
        #expect(embedded.worker.tables.transports.count == 1)
        #expect(embedded.logLines.contains { $0.contains("no ICE consent for 30 s") })
    }
}
