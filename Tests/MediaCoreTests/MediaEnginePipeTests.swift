import Glibc
import Testing
@testable import MediaCore
import Synchronization

/// Cross-worker fan-out: viewers on another worker than the publisher get its packets through a pipe, their
/// keyframe requests reach the publisher, and closing either side cleans up the other — real UDP, two workers.
@Suite(.serialized) struct MediaEnginePipeTests {
    typealias Loopback = MediaEngineLoopbackTests

    /// A publisher with a VP8 producer and `count` receive-only viewers consuming it (placed round-robin).
    struct Call {
        let engine: MediaEngine
        let log: Loopback.EventLog
        let publisher: LoopbackPeer
        let producer: ProducerID
        var viewers: [LoopbackPeer] = []
        var consumers: [ConsumerID] = []
    }

    static func makeCall(viewers count: Int) async throws -> Call {
        let (engine, log) = try Loopback.makeEngine(workers: 2)
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pipepub")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "pipes"))
        publisher.server = TransportAddress(ip: "127.0.0.1", port: publisher.remote!.candidatePort)!
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [4242], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
            feedback: [.nack, .pli]))
        var call = Call(engine: engine, log: log, publisher: publisher, producer: producer)
        for i in 0..<count {
            let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "pipeview\(i)")
            var parameters = viewer.parameters(room: "pipes")
            parameters.receiveOnly = true
            viewer.remote = try await engine.createTransport(parameters)
            viewer.server = TransportAddress(ip: "127.0.0.1", port: viewer.remote!.candidatePort)!
            call.consumers.append(try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
                producer: producer, mid: "0", ssrc: 7000 + UInt32(i), payloadType: 100, extensions: HeaderExtensionIDs(),
                feedback: [.nack, .pli])))
            call.viewers.append(viewer)
        }
        #expect(try publisher.connect())
        for viewer in call.viewers { #expect(try viewer.connect()) }
        #expect(await Loopback.waitUntil(3000) { log.connectedCount() == count + 1 })
        return call
    }

    /// A keyframe and 29 delta packets of SSRC 4242 (three per frame), sequence numbers 1000 on.
    static func sendThirtyPackets(from publisher: LoopbackPeer) {
        for i in 0..<30 {
            publisher.sendRTP(payloadType: 96, sequence: 1000 + UInt16(i), timestamp: 3000 + UInt32(i / 3) * 3000,
                              ssrc: 4242, marker: i % 3 == 2, payload: Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
    }

    /// Viewer i (its consumer sends with SSRC 7000 + i, payload type 100) got those 30 packets, numbered without a gap.
    static func expectThirtyPackets(at viewers: [LoopbackPeer], _ name: (Int) -> String) {
        for (index, viewer) in viewers.enumerated() {
            var packets: [[UInt8]] = []
            viewer.receiveMedia(forMs: 400) { if case .rtp(let bytes) = $0 { packets.append(bytes) } }
            #expect(packets.count == 30, "\(name(index))")
            var previous: UInt16?
            for (i, bytes) in packets.enumerated() {
                let header = bytes.withUnsafeBytes { RTPHeader.parse($0) }!
                #expect(header.ssrc == 7000 + UInt32(index) && header.payloadType == 100)
                if let previous { #expect(header.sequenceNumber == previous &+ 1) }
                previous = header.sequenceNumber
                #expect(Array(bytes[header.headerLength...]) == Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
            }
        }
    }

    static func consumerClosedCount(_ log: Loopback.EventLog) -> Int {
        log.events.withLock { list in list.filter { if case .consumerClosed = $0 { true } else { false } }.count }
    }

    @Test func viewersOnTheOtherWorkerGetEveryPacketThroughThePipeAndTheirPLIReachesThePublisher() async throws {
        let call = try await Self.makeCall(viewers: 4)
        let engine = call.engine
        defer { Task { await engine.shutdown() } }
        let ports = Set(call.viewers.map { $0.remote!.candidatePort })
        #expect(ports == Set(call.engine.ports), "receive-only transports are spread over both workers")
        let remote = call.viewers.filter { $0.remote!.candidatePort != call.publisher.remote!.candidatePort }
        #expect(remote.count == 2)

        // A delta frame first: the remote viewers wait for a keyframe, and their worker asks the publisher's.
        call.publisher.sendRTP(payloadType: 96, sequence: 999, timestamp: 100, ssrc: 4242,
                               payload: Loopback.vp8Payload(keyframe: false, fill: 0))
        var sawPLI = false
        call.publisher.receiveMedia(forMs: 400) { received in
            if case .rtcp(let bytes) = received, bytes.count >= 12, bytes[1] == 206, bytes[0] & 0x1F == 1 { sawPLI = true }
        }
        #expect(sawPLI)

        Self.sendThirtyPackets(from: call.publisher)
        Self.expectThirtyPackets(at: call.viewers) { "viewer \($0) on port \(call.viewers[$0].remote!.candidatePort)" }
        var stats = await call.engine.stats()
        #expect(stats.packetsPiped == 31, "each packet is copied once to the other worker, not once per viewer there")
        #expect(stats.producers == 1 && stats.consumers == 4 && stats.transports == 5)
        #expect(stats.dropped["pipeFull", default: 0] == 0)

        // A remote viewer's PLI crosses back to the publisher's worker.
        try await Task.sleep(for: .milliseconds(1100))
        remote[0].sendRTCP([0x81, 206, 0, 2, 0, 0, 0, 9] + withUnsafeBytes(of: (7000 + UInt32(call.viewers.firstIndex { $0 === remote[0] }!)).bigEndian, Array.init))
        sawPLI = false
        call.publisher.receiveMedia(forMs: 400) { received in
            if case .rtcp(let bytes) = received, bytes.count >= 12, bytes[1] == 206, bytes[0] & 0x1F == 1 { sawPLI = true }
        }
        #expect(sawPLI, "a PLI from a viewer on the other worker reaches the publisher")
        stats = await call.engine.stats()
        #expect(stats.keyframeRequestsSent >= 2)
    }

    @Test func thePipeClosesWithItsLastRemoteConsumerAndAClosedProducerClosesRemoteConsumers() async throws {
        let call = try await Self.makeCall(viewers: 4)
        let engine = call.engine
        defer { Task { await engine.shutdown() } }
        let home = call.publisher.remote!.candidatePort
        let remoteIndexes = call.viewers.indices.filter { call.viewers[$0].remote!.candidatePort != home }
        var sequence: UInt16 = 2000
        var timestamp: UInt32 = 90_000
        func sendKeyframeAndCount() async -> UInt64 {
            for i in 0..<5 {
                sequence &+= 1
                timestamp &+= 3000
                call.publisher.sendRTP(payloadType: 96, sequence: sequence, timestamp: timestamp, ssrc: 4242,
                                       payload: Loopback.vp8Payload(keyframe: i == 0, fill: 9))
            }
            try? await Task.sleep(for: .milliseconds(300))
            return await call.engine.stats().packetsPiped
        }
        let first = await sendKeyframeAndCount()
        #expect(first == 5)

        // One of two remote consumers goes: the pipe stays; the second goes: nothing is piped any more.
        await call.engine.closeConsumer(call.consumers[remoteIndexes[0]])
        let second = await sendKeyframeAndCount()
        #expect(second == 10)
        await call.engine.closeTransport(call.viewers[remoteIndexes[1]].remote!.id)
        #expect(await Loopback.waitUntil(1000) { await call.engine.stats().consumers == 2 })
        let third = await sendKeyframeAndCount()
        #expect(third == 10, "no viewer left on the other worker: no copies")

        // A new remote consumer reopens it; closing the producer closes it on the other worker too.
        let viewer = try LoopbackPeer(serverPort: call.engine.port, ufrag: "late")
        var parameters = viewer.parameters(room: "pipes")
        parameters.receiveOnly = true
        repeat {
            viewer.remote = try await call.engine.createTransport(parameters)
        } while viewer.remote!.candidatePort == home
        viewer.server = TransportAddress(ip: "127.0.0.1", port: viewer.remote!.candidatePort)!
        _ = try await call.engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
            producer: call.producer, mid: "0", ssrc: 7100, payloadType: 100, extensions: HeaderExtensionIDs()))
        #expect(try viewer.connect())
        let fourth = await sendKeyframeAndCount()
        #expect(fourth == 15)
        var packets = 0
        viewer.receiveMedia(forMs: 200) { if case .rtp = $0 { packets += 1 } }
        #expect(packets == 5)

        let closedBefore = Self.consumerClosedCount(call.log)
        await call.engine.closeProducer(call.producer)
        #expect(await Loopback.waitUntil(1000) { Self.consumerClosedCount(call.log) == closedBefore + 3 },
                "the two local consumers and the remote one close")
        #expect(await Loopback.waitUntil(1000) { await call.engine.stats().consumers == 0 })
        let stats = await call.engine.stats()
        #expect(stats.producers == 0)
    }

    @Test func aConsumerForAnUnknownProducerOnTheOtherWorkerFailsCleanly() async throws {
        let (engine, _) = try Loopback.makeEngine(workers: 2)
        defer { Task { await engine.shutdown() } }
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "lonely")
        var parameters = viewer.parameters(room: "none")
        parameters.receiveOnly = true
        viewer.remote = try await engine.createTransport(parameters)
        let worker = Int(viewer.remote!.id.rawValue & 0xFF)
        // An id that names the other worker but no producer there.
        let missing = ProducerID((12345 << 8) | UInt64(1 - worker))
        await #expect(throws: MediaError.self) {
            _ = try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
                producer: missing, mid: "0", ssrc: 1, payloadType: 100, extensions: HeaderExtensionIDs()))
        }
        let stats = await engine.stats()
        #expect(stats.consumers == 0 && stats.producers == 0)
    }
}
