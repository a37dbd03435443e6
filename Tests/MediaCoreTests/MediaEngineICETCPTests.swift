import Glibc
import Synchronization
import Testing
@testable import MediaCore

/// Passive ICE-TCP (RFC 6544, RFC 4571 framing) over real loopback TCP: peers that reach the engine only over TCP
/// connect, publish and watch beside UDP peers, and a broken, silent or slow TCP peer costs only itself.
@Suite(.serialized) struct MediaEngineICETCPTests {
    static func makeEngine(maxTCPConnections: Int = 1024) throws -> (MediaEngine, MediaEngineLoopbackTests.EventLog) {
        var configuration = MediaEngineConfiguration()
        configuration.basePort = 0
        configuration.consentTimeout = 3600
        configuration.poolSize = 1024
        configuration.maxTCPConnectionsPerWorker = maxTCPConnections
        configuration.logHandler = { _ in }
        let engine = try MediaEngine(configuration: configuration)
        try engine.start()
        let log = MediaEngineLoopbackTests.EventLog()
        let stream = engine.events()
        Task.detached {
            for await event in stream { log.events.withLock { $0.append(event) } }
        }
        return (engine, log)
    }

    /// A publisher and a viewer in one room, each over UDP or TCP, connected.
    static func call(_ engine: MediaEngine, publisherOverTCP: Bool, viewerOverTCP: Bool) async throws
        -> (publisher: LoopbackPeer, viewer: LoopbackPeer) {
        let publisher = publisherOverTCP ? try LoopbackPeer(tcpServerPort: engine.port, ufrag: "ptcp")
                                         : try LoopbackPeer(serverPort: engine.port, ufrag: "pudp")
        let viewer = viewerOverTCP ? try LoopbackPeer(tcpServerPort: engine.port, ufrag: "vtcp")
                                   : try LoopbackPeer(serverPort: engine.port, ufrag: "vudp")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "tcp"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "tcp"))
        _ = try await engine.addConsumer(
            transport: viewer.remote!.id,
            ConsumerParameters(producer: producer, mid: "1", ssrc: 2222, payloadType: 100, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        return (publisher, viewer)
    }

    /// Sends `count` packets (the first a keyframe) and returns the RTP sequence numbers the viewer decrypted.
    static func stream(_ count: Int, from publisher: LoopbackPeer, to viewer: LoopbackPeer, first: UInt16 = 100) -> [UInt16] {
        for i in 0..<count {
            publisher.sendRTP(payloadType: 96, sequence: first &+ UInt16(i), timestamp: UInt32(i / 4) * 3000, ssrc: 1111,
                              marker: i % 4 == 3, payload: MediaEngineLoopbackTests.vp8Payload(keyframe: i == 0, fill: UInt8(i & 0xFF)))
        }
        var sequences: [UInt16] = []
        viewer.receiveMedia(forMs: 400) { packet in
            if case .rtp(let bytes) = packet, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }), header.ssrc == 2222 {
                sequences.append(header.sequenceNumber)
            }
        }
        return sequences
    }

    @Test func answersOfferAPassiveTCPCandidateOnTheSamePortBelowEveryUDPOne() async throws {
        let (engine, _) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let peer = try LoopbackPeer(serverPort: engine.port, ufrag: "cand")
        let description = try await engine.createTransport(peer.parameters(room: "c"))
        #expect(description.candidates.map(\.transport) == [.udp, .tcp])
        #expect(description.candidates.allSatisfy { $0.port == engine.port && $0.ip == "127.0.0.1" })
        #expect(description.candidates[0].priority > description.candidates[1].priority)
        #expect(description.candidates[1].description.hasSuffix("typ host tcptype passive"))
    }

    @Test func aViewerThatReachesTheServerOnlyOverTCPGetsThePublishersMedia() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let (publisher, viewer) = try await Self.call(engine, publisherOverTCP: false, viewerOverTCP: true)
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 2 })
        let received = Self.stream(40, from: publisher, to: viewer)
        #expect(received.count == 40, "every packet reaches the TCP viewer, framed")
        #expect(zip(received, received.dropFirst()).allSatisfy { $1 == $0 &+ 1 }, "in order")
        let stats = await engine.stats()
        #expect(stats.iceTCPConnections == 1)
    }

    @Test func aPublisherOverTCPReachesAViewerOverUDP() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let (publisher, viewer) = try await Self.call(engine, publisherOverTCP: true, viewerOverTCP: false)
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 2 })
        #expect(Self.stream(40, from: publisher, to: viewer).count == 40)
    }

    @Test func aConnectionThatSendsAnImpossibleFrameIsClosedAndTheCallGoesOn() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let (publisher, viewer) = try await Self.call(engine, publisherOverTCP: false, viewerOverTCP: true)
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 2 })

        // Junk that frames correctly is dropped as malformed; the connection stays.
        let junk = try TCPPeerLink(serverPort: engine.port)
        [UInt8](repeating: 0xEE, count: 300).withUnsafeBytes { junk.send($0) }
        // A frame longer than any packet we take: the connection goes.
        let oversized = try TCPPeerLink(serverPort: engine.port)
        oversized.sendRaw([0xFF, 0xFF] + [UInt8](repeating: 0x80, count: 4000))
        var closed = false
        for _ in 0..<40 where !closed { closed = oversized.isClosedByServer }
        #expect(closed, "the server closes a connection that announces a 65535-byte frame")
        #expect(!junk.isClosedByServer)
        #expect(Self.stream(20, from: publisher, to: viewer).count == 20, "the TCP viewer still gets everything")
        let stats = await engine.stats()
        #expect(stats.dropped["malformed", default: 0] >= 1)
    }

    @Test func atTheConnectionLimitTheOldestUncheckedConnectionMakesRoom() async throws {
        let (engine, log) = try Self.makeEngine(maxTCPConnections: 3)
        defer { Task { await engine.shutdown() } }
        let silent = try (0..<3).map { _ in try TCPPeerLink(serverPort: engine.port) }
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { await engine.stats().iceTCPConnections == 3 })
        // Two real peers: each new connection evicts a silent one that never completed an ICE check.
        let (publisher, viewer) = try await Self.call(engine, publisherOverTCP: true, viewerOverTCP: true)
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 2 })
        #expect(Self.stream(20, from: publisher, to: viewer).count == 20)
        let stats = await engine.stats()
        #expect(stats.iceTCPConnections == 3)
        #expect(stats.iceTCPConnectionsRefused == 2)
        #expect(silent[0].isClosedByServer && silent[1].isClosedByServer, "the two oldest silent connections went")
    }

    @Test func aTCPViewerThatStopsReadingLosesPacketsWithoutStallingOthers() async throws {
        let (engine, log) = try Self.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "pub")
        let reader = try LoopbackPeer(serverPort: engine.port, ufrag: "reader")
        let stalled = try LoopbackPeer(link: TCPPeerLink(serverPort: engine.port, receiveBuffer: 4096), ufrag: "stall")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "s"))
        let producer = try await engine.addProducer(
            transport: publisher.remote!.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90000, extensions: HeaderExtensionIDs()))
        for viewer in [reader, stalled] {
            viewer.remote = try await engine.createTransport(viewer.parameters(room: "s"))
            _ = try await engine.addConsumer(
                transport: viewer.remote!.id,
                ConsumerParameters(producer: producer, mid: "1", ssrc: 2222, payloadType: 100, extensions: HeaderExtensionIDs()))
        }
        #expect(try publisher.connect() && reader.connect() && stalled.connect())
        #expect(await MediaEngineLoopbackTests.waitUntil(2000) { log.connectedCount() == 3 })
        // `stalled` never reads again: its socket buffers, then our send buffer (160 KiB) fill; packets for it are
        // then dropped. Rounds of 50 packets of 1.2 kB until that happens (at most 8000 packets), the reader taking its
        // share after each round, then 20 rounds more.
        var got = 0
        var sent = 0
        var roundsAfterDrops = -1
        while sent < 8000 && roundsAfterDrops < 20 {
            for _ in 0..<50 {
                publisher.sendRTP(payloadType: 96, sequence: UInt16(truncatingIfNeeded: 1000 + sent), timestamp: UInt32(sent) * 3000,
                                  ssrc: 1111, marker: true, payload: [0x10, sent == 0 ? 0x00 : 0x01, 0, 0] + [UInt8](repeating: 7, count: 1200))
                sent += 1
            }
            reader.receiveMedia(forMs: 40) { if case .rtp = $0 { got += 1 } }
            if roundsAfterDrops >= 0 {
                roundsAfterDrops += 1
            } else if await engine.stats().dropped["tcpCongested", default: 0] > 0 {
                roundsAfterDrops = 0
            }
        }
        reader.receiveMedia(forMs: 300) { if case .rtp = $0 { got += 1 } }
        #expect(roundsAfterDrops == 20, "packets for the stalled peer are dropped, counted as tcpCongested")
        #expect(got == sent, "the reading viewer gets every packet")
    }
}
