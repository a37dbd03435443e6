import Glibc
import Synchronization
import Testing
@testable import MediaCore

/// The worker end to end over real loopback UDP: ICE-lite, DTLS, SRTP, forwarding with rewrites, keyframe
/// requests, bad input and consent expiry, with peers made of MediaCore's own client-side parts.
@Suite(.serialized) struct MediaEngineLoopbackTests {
    final class EventLog: Sendable {
        let events = Mutex<[MediaEvent]>([])
        func closed(_ id: TransportID) -> TransportCloseReason? {
            events.withLock { list in
                for case let .transportClosed(closedID, reason) in list where closedID == id { return reason }
                return nil
            }
        }
        func connectedCount() -> Int {
            events.withLock { list in list.filter { if case .transportConnected = $0 { true } else { false } }.count }
        }
    }

    // An hour: on a loaded machine (parallel suites, blocking socket reads in other tests) minutes have passed between
    // creating a transport and using it, and a consent timeout closed it (issue 13 sanitizer runs, issue 15).
    static func makeEngine(consentTimeout: Double = 3600, workers: Int = 1) throws -> (MediaEngine, EventLog) {
        var configuration = MediaEngineConfiguration()
        configuration.workers = workers
        configuration.basePort = 0
        configuration.consentTimeout = consentTimeout
        configuration.poolSize = 512
        configuration.logHandler = { _ in }
        let engine = try MediaEngine(configuration: configuration)
        try engine.start()
        let log = EventLog()
        let stream = engine.events()
        Task.detached {
            for await event in stream { log.events.withLock { $0.append(event) } }
        }
        return (engine, log)
    }

    /// VP8 payload: descriptor with S=1, PID=0, then a keyframe payload header (P bit 0) when `keyframe`.
    static func vp8Payload(keyframe: Bool, fill: UInt8) -> [UInt8] {
        [0x10, keyframe ? 0x00 : 0x01, 0x00, 0x00] + [UInt8](repeating: fill, count: 300)
    }

    static func waitUntil(_ deadlineMs: Int64, _ condition: () async -> Bool) async -> Bool {
        let end = MonotonicClock.milliseconds() + deadlineMs
        while MonotonicClock.milliseconds() < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    @Test func forwardsPublisherMediaToViewerWithRewrittenHeadersAndServesKeyframeRequests() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pubu")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "viewu")

        publisher.remote = try await engine.createTransport(publisher.parameters(room: "r1"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "r1"))
        var viewerExtensions = HeaderExtensionIDs()
        viewerExtensions.mid = 4
        _ = try await engine.addConsumer(
            transport: viewer.remote!.id,
            ConsumerParameters(producer: producer, mid: "1", ssrc: 2222, payloadType: 100, extensions: viewerExtensions))

        #expect(try publisher.connect())
        #expect(try viewer.connect())
        #expect(await Self.waitUntil(2000) { log.connectedCount() == 2 })

        // A delta frame first: the viewer must not get it (it starts at a keyframe), and the publisher is asked for one.
        publisher.sendRTP(payloadType: 96, sequence: 65530, timestamp: 1000, ssrc: 1111, payload: Self.vp8Payload(keyframe: false, fill: 1))
        var sawPLI = false
        publisher.receiveMedia(forMs: 300) { received in
            if case .rtcp(let bytes) = received, bytes[1] == 206, bytes[0] & 0x1F == 1 {
                let media = UInt32(bytes[8]) << 24 | UInt32(bytes[9]) << 16 | UInt32(bytes[10]) << 8 | UInt32(bytes[11])
                if media == 1111 { sawPLI = true }
            }
        }
        #expect(sawPLI, "a viewer waiting for a keyframe makes the SFU send a PLI to the publisher")

        // Then 40 packets starting with a keyframe, across the sequence-number wrap.
        for i in 0..<40 {
            publisher.sendRTP(payloadType: 96, sequence: 65531 &+ UInt16(i), timestamp: 3000 + UInt32(i / 4) * 3000,
                              ssrc: 1111, marker: i % 4 == 3, payload: Self.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
        var packets: [[UInt8]] = []
        viewer.receiveMedia(forMs: 500) { if case .rtp(let bytes) = $0 { packets.append(bytes) } }
        #expect(packets.count == 40)
        var previous: UInt16?
        for (i, bytes) in packets.enumerated() {
            let header = bytes.withUnsafeBytes { RTPHeader.parse($0) }!
            #expect(header.ssrc == 2222)
            #expect(header.payloadType == 100)
            #expect(header.marker == (i % 4 == 3))
            if let previous { #expect(header.sequenceNumber == previous &+ 1) }
            previous = header.sequenceNumber
            let mid = bytes.withUnsafeBytes { raw in header.extensionElement(id: 4, in: raw).map { Array(raw[$0.offset..<($0.offset + $0.length)]) } }
            #expect(mid == Array("1".utf8))
            #expect(Array(bytes[header.headerLength...]) == Self.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }

        // The viewer's PLI (for our SSRC 2222) reaches the publisher as a PLI for its SSRC 1111.
        try await Task.sleep(for: .milliseconds(600))
        viewer.sendRTCP([0x81, 206, 0, 2, 0, 0, 0, 9, 0, 0, 0x08, 0xAE])
        sawPLI = false
        publisher.receiveMedia(forMs: 300) { received in
            if case .rtcp(let bytes) = received, bytes[1] == 206, bytes[0] & 0x1F == 1 { sawPLI = true }
        }
        #expect(sawPLI)
        let stats = await engine.stats()
        #expect(stats.transports == 2 && stats.producers == 1 && stats.consumers == 1)
        #expect(stats.rtpForwarded == 40)
    }

    @Test func dropsBadInputAndKeepsForwarding() async throws {
        let (engine, _) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pubu")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "viewu")
        let stranger = try LoopbackPeer(serverPort: engine.port, ufrag: "nobody")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "r2"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .audio, mid: "0", ssrcs: [], payloadType: 111, clockRate: 48000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "r2"))
        _ = try await engine.addConsumer(
            transport: viewer.remote!.id,
            ConsumerParameters(producer: producer, mid: "0", ssrc: 3333, payloadType: 109, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())

        // Garbage, truncated STUN, STUN with a wrong MESSAGE-INTEGRITY, DTLS and RTP from an unknown address,
        // SRTP with a broken tag from the publisher's own address.
        stranger.send([0xFF, 0x00, 0x13, 0x37])
        stranger.send([0x00, 0x01, 0x00, 0x08, 0x21, 0x12])
        stranger.remote = viewer.remote
        stranger.sendBindingRequest(integrityKey: Array("wrongwrongwrongwrongwron".utf8))
        stranger.send([22, 0xFE, 0xFD] + [UInt8](repeating: 0, count: 40))
        stranger.send([0x80, 111, 0, 1] + [UInt8](repeating: 7, count: 40))
        publisher.send([0x80, 111, 0, 9, 0, 0, 0, 1, 0, 0, 0, 5] + [UInt8](repeating: 9, count: 60))

        for i in 0..<20 {
            publisher.sendRTP(payloadType: 111, sequence: UInt16(100 + i), timestamp: UInt32(i * 960), ssrc: 4444, payload: [UInt8](repeating: 0xAB, count: 80))
        }
        var count = 0
        viewer.receiveMedia(forMs: 400) { if case .rtp = $0 { count += 1 } }
        #expect(count == 20, "audio (no keyframe wait) flows while the junk is dropped")

        let ok = await Self.waitUntil(1000) { await engine.stats().dropped["srtpAuthFailed"] ?? 0 >= 1 }
        #expect(ok)
        let dropped = await engine.stats().dropped
        #expect(dropped["malformed", default: 0] >= 2)
        #expect(dropped["stunBadIntegrity", default: 0] == 1)
        #expect(dropped["dtlsUnknownSource", default: 0] == 1)
        #expect(dropped["unknownSource", default: 0] == 1)
        #expect(dropped["srtpAuthFailed", default: 0] == 1)
    }

    @Test func closesTransportsWhosePeerStopsConsentChecksAndFreesEverything() async throws {
        // 4 s: long enough that a loaded machine (parallel suites) never starves the viewer's checks that long.
        let (engine, log) = try Self.makeEngine(consentTimeout: 4)
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pubu")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "viewu")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "r3"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "r3"))
        _ = try await engine.addConsumer(
            transport: viewer.remote!.id,
            ConsumerParameters(producer: producer, mid: "0", ssrc: 2, payloadType: 96, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())

        // The viewer keeps checking, from a thread of its own (a task could be starved for seconds by other suites'
        // blocking socket reads on a loaded machine); the publisher falls silent.
        let checks = ConsentChecks(viewer)
        let end = MonotonicClock.milliseconds() + 15_000
        while MonotonicClock.milliseconds() < end && log.closed(publisher.remote!.id) == nil {
            try await Task.sleep(for: .milliseconds(100))
        }
        checks.stop()
        #expect(log.closed(publisher.remote!.id) == .consentExpired)
        #expect(log.closed(viewer.remote!.id) == nil)
        let stats = await engine.stats()
        #expect(stats.transports == 1 && stats.producers == 0 && stats.consumers == 0)
        #expect(stats.poolBuffersInUse == 0)
        await engine.closeTransport(viewer.remote!.id)
        #expect(await Self.waitUntil(1000) { await engine.stats().transports == 0 })
        #expect(await Self.waitUntil(1000) { log.closed(viewer.remote!.id) != nil }, "the close event arrives on the event thread")
        #expect(log.closed(viewer.remote!.id) == .requested)
    }

    @Test func roomsSpreadOverTwoWorkersAndEachForwardsOnItsOwnPort() async throws {
        let (engine, log) = try Self.makeEngine(workers: 2)
        defer { Task { await engine.shutdown() } }
        #expect(engine.ports.count == 2 && engine.ports[0] != engine.ports[1])

        // Find one room per worker: a transport's candidate port tells which worker owns its room.
        let probe = try LoopbackPeer(serverPort: engine.port, ufrag: "probe")
        var roomByPort: [UInt16: String] = [:]
        for i in 0..<32 where roomByPort.count < 2 {
            let room = "room-\(i)"
            let description = try await engine.createTransport(probe.parameters(room: room))
            if roomByPort[description.candidatePort] == nil { roomByPort[description.candidatePort] = room }
            await engine.closeTransport(description.id)
        }
        #expect(Set(roomByPort.keys) == Set(engine.ports), "32 room names land on both workers")

        for (port, room) in roomByPort {
            let publisher = try LoopbackPeer(serverPort: port, ufrag: "p\(port)")
            let viewer = try LoopbackPeer(serverPort: port, ufrag: "v\(port)")
            publisher.remote = try await engine.createTransport(publisher.parameters(room: room))
            let producer = try await engine.addProducer(
                transport: publisher.remote!.id,
                ProducerParameters(kind: .audio, mid: "0", ssrcs: [7], payloadType: 111, clockRate: 48000, extensions: HeaderExtensionIDs()))
            viewer.remote = try await engine.createTransport(viewer.parameters(room: room))
            _ = try await engine.addConsumer(
                transport: viewer.remote!.id,
                ConsumerParameters(producer: producer, mid: "0", ssrc: 8, payloadType: 111, extensions: HeaderExtensionIDs()))
            #expect(publisher.remote!.candidatePort == port && viewer.remote!.candidatePort == port)
            #expect(try publisher.connect())
            #expect(try viewer.connect())
            for i in 0..<20 {
                publisher.sendRTP(payloadType: 111, sequence: UInt16(i), timestamp: UInt32(i) * 960, ssrc: 7,
                                  payload: [UInt8](repeating: UInt8(i), count: 80))
            }
            var count = 0
            viewer.receiveMedia(forMs: 400) { if case .rtp = $0 { count += 1 } }
            #expect(count == 20, "room \(room) on port \(port) forwards")
        }
        #expect(await Self.waitUntil(2000) { log.connectedCount() == 4 })
        let stats = await engine.stats()
        #expect(stats.transports == 4 && stats.producers == 2 && stats.consumers == 2)
    }

    @Test func closingAConsumerOrAProducerStopsJustThatStreamOnALiveTransport() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pub5")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "view5")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "r5"))
        let audio = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .audio, mid: "0", ssrcs: [51], payloadType: 111, clockRate: 48000, extensions: HeaderExtensionIDs()))
        let second = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .audio, mid: "1", ssrcs: [52], payloadType: 111, clockRate: 48000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "r5"))
        let copy = try await engine.addConsumer(transport: viewer.remote!.id,
            ConsumerParameters(producer: audio, mid: "0", ssrc: 61, payloadType: 111, extensions: HeaderExtensionIDs()))
        _ = try await engine.addConsumer(transport: viewer.remote!.id,
            ConsumerParameters(producer: second, mid: "1", ssrc: 62, payloadType: 111, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())

        func sendBoth(from sequence: UInt16) -> [UInt32: Int] {
            for i in 0..<10 {
                for ssrc: UInt32 in [51, 52] {
                    publisher.sendRTP(payloadType: 111, sequence: sequence + UInt16(i), timestamp: UInt32(i) * 960, ssrc: ssrc,
                                      payload: [UInt8](repeating: 1, count: 60))
                }
            }
            var bySSRC: [UInt32: Int] = [:]
            viewer.receiveMedia(forMs: 300) { received in
                if case .rtp(let bytes) = received, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) {
                    bySSRC[header.ssrc, default: 0] += 1
                }
            }
            return bySSRC
        }
        #expect(sendBoth(from: 0) == [61: 10, 62: 10])

        await engine.closeConsumer(copy)
        #expect(sendBoth(from: 100) == [62: 10], "the closed consumer gets nothing, the other stream flows on")
        #expect(await engine.stats().consumers == 1)

        await engine.closeProducer(second)
        #expect(sendBoth(from: 200).isEmpty)
        let stats = await engine.stats()
        #expect(stats.producers == 1 && stats.consumers == 0 && stats.transports == 2)
        #expect(log.closed(publisher.remote!.id) == nil && log.closed(viewer.remote!.id) == nil)
    }
}
