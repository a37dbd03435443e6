import Testing
@testable import MediaCore
import Synchronization

/// A recorder's tap on a producer (MediaTap): every packet the publisher sends comes out decrypted, in order, byte
/// for byte, on the producer's own worker or another; opening it asks the publisher for a keyframe; closing it
/// stops the copies; a tap nobody drains drops what does not fit instead of holding the meeting up.
@Suite(.serialized) struct MediaEngineTapTests {
    typealias Loopback = MediaEngineLoopbackTests

    static func publisher(_ engine: MediaEngine, _ log: Loopback.EventLog) async throws -> (LoopbackPeer, ProducerID) {
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "tappub")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "taps"))
        publisher.server = TransportAddress(ip: "127.0.0.1", port: publisher.remote!.candidatePort)!
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [4242], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
            feedback: [.nack, .pli]))
        #expect(try publisher.connect())
        #expect(await Loopback.waitUntil(3000) { log.connectedCount() == 1 })
        return (publisher, producer)
    }

    static func drainAll(_ tap: MediaTap, expecting count: Int) async -> [[UInt8]] {
        var packets: [[UInt8]] = []
        _ = await Loopback.waitUntil(3000) {
            _ = tap.drain { _, bytes in packets.append(Array(bytes)) }
            return packets.count >= count
        }
        return packets
    }

    @Test func aTapGetsEveryPacketDecryptedInOrderAndOpeningItAsksForAKeyframe() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        let (publisher, producer) = try await Self.publisher(engine, log)
        // A first packet, so the server knows the publisher's SSRC and can address a PLI to it.
        publisher.sendRTP(payloadType: 96, sequence: 999, timestamp: 100, ssrc: 4242, marker: true, payload: Loopback.vp8Payload(keyframe: false, fill: 9))
        try await Task.sleep(for: .milliseconds(100))

        let (tap, parameters) = try await engine.openTap(producer: producer)
        #expect(parameters.kind == .video && tap.producer == producer)
        var sawPLI = false
        publisher.receiveMedia(forMs: 300) { received in
            if case .rtcp(let bytes) = received, bytes.count >= 12, bytes[1] == 206, bytes[0] & 0x1F == 1 { sawPLI = true }
        }
        #expect(sawPLI, "the recorder starts at a keyframe: the publisher is asked for one")
        await #expect(throws: MediaError.self) { try await engine.openTap(producer: producer) }

        var sent: [[UInt8]] = []
        for i in 0..<40 {
            let payload = Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i))
            publisher.sendRTP(payloadType: 96, sequence: 1000 + UInt16(i), timestamp: 3000 + UInt32(i / 4) * 3000, ssrc: 4242,
                              marker: i % 4 == 3, payload: payload)
            sent.append(payload)
        }
        let packets = await Self.drainAll(tap, expecting: 40)
        #expect(packets.count == 40)
        for (i, bytes) in packets.enumerated() {
            let header = try #require(bytes.withUnsafeBytes { RTPHeader.parse($0) })
            #expect(header.sequenceNumber == 1000 + UInt16(i) && header.ssrc == 4242 && header.marker == (i % 4 == 3))
            #expect(Array(bytes[header.headerLength..<header.headerLength + header.payloadLength]) == sent[i], "decrypted, byte for byte")
        }

        engine.closeTap(producer: producer)
        try await Task.sleep(for: .milliseconds(100))
        publisher.sendRTP(payloadType: 96, sequence: 1040, timestamp: 40_000, ssrc: 4242, marker: true, payload: Loopback.vp8Payload(keyframe: false, fill: 1))
        try await Task.sleep(for: .milliseconds(200))
        #expect(tap.drain { _, _ in } == 0, "a closed tap gets nothing more")
        let (again, _) = try await engine.openTap(producer: producer)
        #expect(again.producer == producer, "and the producer can be tapped again")
    }

    @Test func aTapNobodyDrainsDropsWhatDoesNotFitAndTheViewersGetEverything() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        let (publisher, producer) = try await Self.publisher(engine, log)
        let (tap, _) = try await engine.openTap(producer: producer, slots: 16)
        let before = await engine.stats().dropped["pipeFull"] ?? 0
        for i in 0..<50 {
            publisher.sendRTP(payloadType: 96, sequence: 2000 + UInt16(i), timestamp: UInt32(i) * 3000, ssrc: 4242, marker: true,
                              payload: Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
        #expect(await Loopback.waitUntil(3000) { (await engine.stats().dropped["pipeFull"] ?? 0) - before == 34 })
        #expect(tap.backlog == 16)
        let packets = await Self.drainAll(tap, expecting: 16)
        #expect(packets.count == 16 && packets.first.flatMap { $0.withUnsafeBytes { RTPHeader.parse($0) } }?.sequenceNumber == 2000,
                "the oldest are kept, the newest dropped")
        await engine.closeProducer(producer)
        #expect(await Loopback.waitUntil(3000) { log.events.withLock { $0.contains { if case .producerClosed = $0 { true } else { false } } } })
    }
}
