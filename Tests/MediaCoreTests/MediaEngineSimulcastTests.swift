import Glibc
import Testing
@testable import MediaCore
import Synchronization

/// Simulcast, loss recovery, keyframe-request aggregation and active-speaker detection through a real worker
/// over loopback UDP.
@Suite(.serialized) struct MediaEngineSimulcastTests {
    typealias Loopback = MediaEngineLoopbackTests

    /// A VP8 packet of one simulcast layer with the MID and RID header extensions (ids 1 and 2).
    static func layerPacket(rid: String, ssrc: UInt32, sequence: UInt16, timestamp: UInt32, keyframe: Bool, fill: UInt8) -> [UInt8] {
        var elements: [UInt8] = [0x10, UInt8(ascii: "0"), 0x20 | UInt8(rid.utf8.count - 1)] + Array(rid.utf8)
        while elements.count % 4 != 0 { elements.append(0) }
        var packet: [UInt8] = [0x90, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += withUnsafeBytes(of: timestamp.bigEndian, Array.init)
        packet += withUnsafeBytes(of: ssrc.bigEndian, Array.init)
        packet += [0xBE, 0xDE, 0x00, UInt8(elements.count / 4)] + elements
        return packet + Loopback.vp8Payload(keyframe: keyframe, fill: fill)
    }

    static func nack(sender: UInt32, media: UInt32, lost: UInt16) -> [UInt8] {
        [0x81, 205, 0, 3] + withUnsafeBytes(of: sender.bigEndian, Array.init) + withUnsafeBytes(of: media.bigEndian, Array.init)
            + [UInt8(lost >> 8), UInt8(lost & 0xFF), 0, 0]
    }

    @Test func bindsLayersByRIDSwitchesOnRequestAndServesNACKsAsRTXWithoutAskingThePublisher() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "spub")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "sview")
        var extensions = HeaderExtensionIDs()
        extensions.mid = 1
        extensions.rid = 2
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "s1"))
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [], payloadType: 96, clockRate: 90_000, extensions: extensions,
            encodings: [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h"), ProducerEncoding(rid: "f")],
            feedback: [.nack, .pli]))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "s1"))
        let consumer = try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
            producer: producer, mid: "0", ssrc: 5000, payloadType: 100, extensions: HeaderExtensionIDs(),
            rtxPayloadType: 101, rtxSSRC: 5001, feedback: [.nack, .pli]))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        #expect(await Loopback.waitUntil(2000) { log.connectedCount() == 2 })

        let rids = ["q", "h", "f"]
        var sequence: [UInt16] = [100, 2000, 40000]
        func sendFrame(keyframes: Set<Int>, timestamp: UInt32) {
            for layer in 0..<3 {
                sequence[layer] &+= 1
                publisher.sendPlainRTP(Self.layerPacket(rid: rids[layer], ssrc: UInt32(10 + layer), sequence: sequence[layer],
                                                        timestamp: timestamp, keyframe: keyframes.contains(layer), fill: UInt8(layer)))
            }
        }
        // All layers arrive; with no estimate the viewer gets the top layer from its first keyframe.
        sendFrame(keyframes: [0, 1, 2], timestamp: 3000)
        for i in 1..<10 { sendFrame(keyframes: [], timestamp: 3000 + UInt32(i) * 3000) }
        var received: [[UInt8]] = []
        viewer.receiveMedia(forMs: 400) { if case .rtp(let bytes) = $0 { received.append(bytes) } }
        #expect(received.count == 10)
        #expect(received.allSatisfy { $0.last == 2 }, "the fill byte says which layer: all from layer 2 (f)")

        // The tile shrinks: the viewer asks for layer 0; the switch waits for layer 0's keyframe (requested by PLI).
        engine.setPreferredLayers(consumer: consumer, spatial: 0, temporal: 3)
        var sawPLIForLayer0 = false
        let end = MonotonicClock.milliseconds() + 1500
        while MonotonicClock.milliseconds() < end && !sawPLIForLayer0 {
            sendFrame(keyframes: [], timestamp: 40_000)
            publisher.receiveMedia(forMs: 50) { received in
                if case .rtcp(let bytes) = received, bytes.count >= 12, bytes[1] == 206, bytes[0] & 0x1F == 1, bytes[11] == 10 {
                    sawPLIForLayer0 = true
                }
            }
        }
        #expect(sawPLIForLayer0, "the SFU asks for a keyframe of the layer it wants to switch to")
        viewer.receiveMedia(forMs: 100) { if case .rtp(let bytes) = $0 { received.append(bytes) } }
        sendFrame(keyframes: [0], timestamp: 50_000)
        for i in 1..<5 { sendFrame(keyframes: [], timestamp: 50_000 + UInt32(i) * 3000) }
        var after: [[UInt8]] = []
        viewer.receiveMedia(forMs: 400) { if case .rtp(let bytes) = $0 { after.append(bytes) } }
        #expect(after.count >= 5)
        #expect(after.suffix(5).allSatisfy { $0.last == 0 }, "now layer 0 (q)")
        var allSequences = (received + after).map { bytes in bytes.withUnsafeBytes { RTPHeader.parse($0)!.sequenceNumber } }
        for (a, b) in zip(allSequences, allSequences.dropFirst()) { #expect(b == a &+ 1, "continuous across the switch") }

        // The viewer lost one: its NACK is answered with RTX from our buffer; the publisher hears nothing of it.
        let lost = allSequences[allSequences.count - 2]
        viewer.sendRTCP(Self.nack(sender: 9, media: 5000, lost: lost))
        var rtx: [UInt8]?
        viewer.receiveMedia(forMs: 300) { if case .rtp(let bytes) = $0, bytes[1] & 0x7F == 101 { rtx = bytes } }
        let repaired = try #require(rtx, "a retransmission arrives")
        let header = try #require(repaired.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(header.ssrc == 5001)
        #expect(UInt16(repaired[header.headerLength]) << 8 | UInt16(repaired[header.headerLength + 1]) == lost)
        #expect(repaired.last == 0)
        var publisherSawNACK = false
        publisher.receiveMedia(forMs: 200) { if case .rtcp(let bytes) = $0, bytes[1] == 205, bytes[0] & 0x1F == 1 { publisherSawNACK = true } }
        #expect(!publisherSawNACK)
        let stats = await engine.stats()
        #expect(stats.nackedPacketsReceived == 1)
        #expect(stats.packetsRetransmitted == 1)
        #expect(stats.layerSwitches >= 2)
        allSequences.removeAll()
    }

    @Test func keyframeRequestsFromManyViewersReachThePublisherOnce() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "kpub")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "k1"))
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [77], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs()))
        var viewers: [LoopbackPeer] = []
        for i in 0..<5 {
            let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "kv\(i)")
            viewer.remote = try await engine.createTransport(viewer.parameters(room: "k1"))
            _ = try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
                producer: producer, mid: "0", ssrc: UInt32(900 + i), payloadType: 96, extensions: HeaderExtensionIDs()))
            viewers.append(viewer)
        }
        #expect(try publisher.connect())
        for viewer in viewers { #expect(try viewer.connect()) }
        #expect(await Loopback.waitUntil(3000) { log.connectedCount() == 6 })
        // Everyone has started; then all five ask at once, twice.
        publisher.sendRTP(payloadType: 96, sequence: 1, timestamp: 0, ssrc: 77, payload: Loopback.vp8Payload(keyframe: true, fill: 0))
        try await Task.sleep(for: .milliseconds(700))
        publisher.receiveMedia(forMs: 50) { _ in }
        for round in 0..<2 {
            for (i, viewer) in viewers.enumerated() {
                let media = UInt32(900 + i)
                viewer.sendRTCP([0x81, 206, 0, 2, 0, 0, 0, UInt8(round + 1)] + withUnsafeBytes(of: media.bigEndian, Array.init))
            }
        }
        var plis = 0
        publisher.receiveMedia(forMs: 300) { if case .rtcp(let bytes) = $0, bytes[1] == 206, bytes[0] & 0x1F == 1 { plis += 1 } }
        #expect(plis == 1, "ten PLIs from five viewers within the interval become one")
    }

    /// An Opus packet carrying the RFC 6464 audio level (one-byte extension id 1): level 0 is loudest, 127 silence.
    static func audioPacket(ssrc: UInt32, sequence: UInt16, level: UInt8) -> [UInt8] {
        var packet: [UInt8] = [0x90, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        packet += withUnsafeBytes(of: (UInt32(sequence) * 960).bigEndian, Array.init)
        packet += withUnsafeBytes(of: ssrc.bigEndian, Array.init)
        packet += [0xBE, 0xDE, 0x00, 0x01, 0x10, 0x80 | level, 0x00, 0x00]
        return packet + [UInt8](repeating: 0xF8, count: 60)
    }

    @Test func theLoudPublisherBecomesTheRoomsActiveSpeakerAndSilenceEndsIt() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        var extensions = HeaderExtensionIDs()
        extensions.audioLevel = 1
        var peers: [LoopbackPeer] = []
        var producers: [ProducerID] = []
        for i in 0..<2 {
            let peer = try LoopbackPeer(serverPort: engine.port, ufrag: "asp\(i)")
            peer.remote = try await engine.createTransport(peer.parameters(room: "talk"))
            producers.append(try await engine.addProducer(transport: peer.remote!.id, ProducerParameters(
                kind: .audio, mid: "0", ssrcs: [UInt32(300 + i)], payloadType: 111, clockRate: 48_000, extensions: extensions)))
            peers.append(peer)
        }
        for peer in peers { #expect(try peer.connect()) }
        #expect(await Loopback.waitUntil(2000) { log.connectedCount() == 2 })
        func speakers() -> [ProducerID?] {
            log.events.withLock { list in list.compactMap { if case let .activeSpeaker("talk", producer) = $0 { producer } else { nil } } }
        }
        // Two seconds of 20 ms packets: peer 1 talks (level 20 dBov below full scale), peer 0 murmurs (level 100).
        var sequence: UInt16 = 1
        for _ in 0..<100 {
            peers[0].sendPlainRTP(Self.audioPacket(ssrc: 300, sequence: sequence, level: 100))
            peers[1].sendPlainRTP(Self.audioPacket(ssrc: 301, sequence: sequence, level: 20))
            sequence &+= 1
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await Loopback.waitUntil(1000) { speakers().first == .some(producers[1]) }, "the loud one speaks: \(speakers())")
        // Then both fall silent (level 127): after the timeout the room has no speaker.
        for _ in 0..<125 {
            for (i, peer) in peers.enumerated() { peer.sendPlainRTP(Self.audioPacket(ssrc: UInt32(300 + i), sequence: sequence, level: 127)) }
            sequence &+= 1
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await Loopback.waitUntil(1000) { speakers().last == .some(nil) }, "silence ends it: \(speakers())")
        #expect(!speakers().contains(.some(producers[0])), "the murmur never takes over")
    }
}
