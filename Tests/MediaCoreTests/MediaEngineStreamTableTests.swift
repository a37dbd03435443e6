import Testing
@testable import MediaCore

/// SRTP state follows the streams a transport carries (issue 13): a meeting participant's transport carries every
/// other participant's audio, video and RTX, and people come and go. Over real loopback UDP with real SRTP.
@Suite(.serialized) struct MediaEngineStreamTableTests {
    static let opus: UInt8 = 111

    /// Sends one packet of every producer and collects, per viewer SSRC, how many arrived.
    static func roundTrip(_ publisher: LoopbackPeer, producers ssrcs: [UInt32], viewer: LoopbackPeer,
                          sequence: UInt16) -> [UInt32: Int] {
        for ssrc in ssrcs {
            publisher.sendRTP(payloadType: opus, sequence: sequence, timestamp: UInt32(sequence) * 960, ssrc: ssrc,
                              payload: [UInt8](repeating: UInt8(truncatingIfNeeded: ssrc), count: 80))
        }
        var arrived: [UInt32: Int] = [:]
        viewer.receiveMedia(forMs: 400) { received in
            guard case .rtp(let bytes) = received, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) else { return }
            arrived[header.ssrc, default: 0] += 1
        }
        return arrived
    }

    /// Flows of `expected` that did not arrive.
    static func missing(_ arrived: [UInt32: Int], _ expected: [UInt32]) -> Int {
        expected.filter { arrived[$0, default: 0] == 0 }.count
    }

    @Test func aParticipantReceivesSixtyStreamsAndChurnFreesTheirSRTPState() async throws {
        let (engine, log) = try MediaEngineLoopbackTests.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "manypub")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "manyview")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "big"))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "big"))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 2 })

        // Sixty incoming streams on one transport (twice the old fixed table), each forwarded to the viewer.
        let sources = (1...UInt32(60)).map { 0x5000_0000 + $0 }
        var producers: [ProducerID] = []
        for (index, ssrc) in sources.enumerated() {
            producers.append(try await engine.addProducer(
                transport: publisher.remote!.id,
                ProducerParameters(kind: .audio, mid: "\(index)", ssrcs: [ssrc], payloadType: Self.opus, clockRate: 48000,
                                   extensions: HeaderExtensionIDs())))
        }
        var nextSSRC: UInt32 = 0x7000_0000
        var consumers: [(id: ConsumerID, ssrc: UInt32)] = []
        for (index, producer) in producers.enumerated() {
            nextSSRC += 1
            let id = try await engine.addConsumer(
                transport: viewer.remote!.id,
                ConsumerParameters(producer: producer, mid: "\(index)", ssrc: nextSSRC, payloadType: Self.opus,
                                   extensions: HeaderExtensionIDs()))
            consumers.append((id, nextSSRC))
        }
        var arrived = Self.roundTrip(publisher, producers: sources, viewer: viewer, sequence: 1)
        #expect(Self.missing(arrived, consumers.map(\.ssrc)) == 0, "every one of the 60 flows arrives")

        // Churn: half the consumers go and new ones (new SSRCs) come, ten times over: 300 streams in all.
        var sequence: UInt16 = 2
        for round in 0..<10 {
            for slot in stride(from: round % 2, to: consumers.count, by: 2) {
                await engine.closeConsumer(consumers[slot].id)
                nextSSRC += 1
                let id = try await engine.addConsumer(
                    transport: viewer.remote!.id,
                    ConsumerParameters(producer: producers[slot], mid: "\(slot)", ssrc: nextSSRC, payloadType: Self.opus,
                                       extensions: HeaderExtensionIDs()))
                consumers[slot] = (id, nextSSRC)
            }
            arrived = Self.roundTrip(publisher, producers: sources, viewer: viewer, sequence: sequence)
            sequence += 1
            #expect(Self.missing(arrived, consumers.map(\.ssrc)) == 0, "round \(round): every flow arrives after churn")
        }
        let stats = await engine.stats()
        #expect(stats.consumers == 60 && stats.producers == 60)
        #expect(stats.dropped["srtpStreamLimit", default: 0] == 0)
        #expect(stats.dropped["sendFailed", default: 0] == 0)
    }
}
