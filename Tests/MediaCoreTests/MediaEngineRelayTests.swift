import Glibc
import Testing
@testable import MediaCore
import Synchronization

/// Relays between two nodes (two engines here, on real loopback UDP): a producer of node A is sent once over a
/// relay, node B adds it to its end of the relay as if a publisher sent it, and B's viewers receive it; their
/// keyframe requests cross back to A's publisher, A's sender reports reach B, and a relay that closes takes its
/// copies with it.
@Suite(.serialized) struct MediaEngineRelayTests {
    typealias Loopback = MediaEngineLoopbackTests

    struct Relay {
        let origin: MediaEngine
        let edge: MediaEngine
        let publisher: LoopbackPeer
        let producer: ProducerID
        let out: TransportID
        let into: TransportID
        let mirror: ProducerID
        let viewers: [LoopbackPeer]
    }

    static let room = "relayed"
    static let relaySSRC: UInt32 = 0x5E1A_0001

    /// A publisher of one VP8 stream on A, relayed to B, where `count` viewers consume B's copy.
    static func makeRelay(viewers count: Int) async throws -> Relay {
        let (origin, originLog) = try Loopback.makeEngine()
        let (edge, edgeLog) = try Loopback.makeEngine()
        let publisher = try LoopbackPeer(serverPort: origin.port, ufrag: "relaypub")
        publisher.remote = try await origin.createTransport(publisher.parameters(room: room))
        publisher.server = TransportAddress(ip: "127.0.0.1", port: publisher.remote!.candidatePort)!
        let producer = try await origin.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [4242], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
            feedback: [.nack, .pli]))
        #expect(try publisher.connect())

        // The keys each way, mirrored between the two ends, as the nodes' control request agrees on them.
        let profile = SRTPProfile.aeadAES128GCM
        let toEdge = (key: random(16), salt: random(profile.masterSaltLength))
        let toOrigin = (key: random(16), salt: random(profile.masterSaltLength))
        let originRTCP: UInt32 = 0x0A0A_0001, edgeRTCP: UInt32 = 0x0B0B_0001
        let edgeAddress = edge.relayAddress(room: room), originAddress = origin.relayAddress(room: room)
        let out = try await origin.createRelay(RelayParameters(
            room: room, label: "relay to B", remoteIP: edgeAddress.ip, remotePort: edgeAddress.port,
            keys: SRTPKeyingMaterial(profile: profile, localKey: toEdge.key, localSalt: toEdge.salt,
                                     remoteKey: toOrigin.key, remoteSalt: toOrigin.salt),
            rtcpSSRC: originRTCP, inboundSSRCs: [edgeRTCP], waitsForStart: true))
        let into = try await edge.createRelay(RelayParameters(
            room: room, label: "relay from A", remoteIP: originAddress.ip, remotePort: originAddress.port,
            keys: SRTPKeyingMaterial(profile: profile, localKey: toOrigin.key, localSalt: toOrigin.salt,
                                     remoteKey: toEdge.key, remoteSalt: toEdge.salt),
            rtcpSSRC: edgeRTCP, inboundSSRCs: [originRTCP]))
        var parameters = try await origin.relayProducer(producer, over: out, ssrcs: [relaySSRC])
        parameters.ssrcs = [relaySSRC]
        parameters.feedback = [.pli]
        let mirror = try await edge.addProducer(transport: into, parameters)
        // Until B has its end and says so, A sends it nothing (B could not place it yet).
        publisher.sendRTP(payloadType: 96, sequence: 0, timestamp: 1, ssrc: 4242, payload: Loopback.vp8Payload(keyframe: true, fill: 0))
        try await Task.sleep(for: .milliseconds(200))
        #expect(await origin.stats().packetsRelayed == 0, "a relay waiting for its start sends nothing")
        try await origin.startRelay(out)

        var viewers: [LoopbackPeer] = []
        for i in 0..<count {
            let viewer = try LoopbackPeer(serverPort: edge.port, ufrag: "relayview\(i)")
            var viewerParameters = viewer.parameters(room: room)
            viewerParameters.receiveOnly = true
            viewer.remote = try await edge.createTransport(viewerParameters)
            viewer.server = TransportAddress(ip: "127.0.0.1", port: viewer.remote!.candidatePort)!
            _ = try await edge.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
                producer: mirror, mid: "0", ssrc: 7000 + UInt32(i), payloadType: 100, extensions: HeaderExtensionIDs(),
                feedback: [.nack, .pli]))
            #expect(try viewer.connect())
            viewers.append(viewer)
        }
        #expect(await Loopback.waitUntil(3000) { originLog.connectedCount() == 1 && edgeLog.connectedCount() == count })
        return Relay(origin: origin, edge: edge, publisher: publisher, producer: producer, out: out, into: into,
                     mirror: mirror, viewers: viewers)
    }

    static func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: .min ... .max) } }

    static func isPLI(_ received: LoopbackPeer.Received) -> Bool {
        if case .rtcp(let bytes) = received, bytes.count >= 12, bytes[1] == 206, bytes[0] & 0x1F == 1 { return true }
        return false
    }

    @Test func viewersOnTheOtherNodeGetEveryPacketOnceOverTheRelayAndTheirKeyframeRequestsReachThePublisher() async throws {
        let relay = try await Self.makeRelay(viewers: 3)
        let (origin, edge) = (relay.origin, relay.edge)
        defer { Task { await origin.shutdown(); await edge.shutdown() } }

        // Starting the relay asked the publisher for a keyframe, so the other node's viewers can start.
        var sawPLI = false
        relay.publisher.receiveMedia(forMs: 300) { if Self.isPLI($0) { sawPLI = true } }
        #expect(sawPLI, "starting a relay of a video producer asks its publisher for a keyframe")

        MediaEnginePipeTests.sendThirtyPackets(from: relay.publisher)
        MediaEnginePipeTests.expectThirtyPackets(at: relay.viewers) { "viewer \($0) on the other node" }
        let sent = await origin.stats(), received = await edge.stats()
        #expect(sent.packetsRelayed == 30, "each packet crosses once, however many viewers the other node has")
        #expect(received.rtpForwarded == 90 && received.dropped["unknownSource", default: 0] == 0)
        #expect(received.dropped["srtpAuthFailed", default: 0] == 0 && sent.dropped["srtpAuthFailed", default: 0] == 0)

        // A viewer's PLI on B becomes B's request over the relay, and A's request to the publisher.
        try await Task.sleep(for: .milliseconds(1100))
        relay.viewers[1].sendRTCP([0x81, 206, 0, 2, 0, 0, 0, 9] + withUnsafeBytes(of: UInt32(7001).bigEndian, Array.init))
        sawPLI = false
        relay.publisher.receiveMedia(forMs: 400) { if Self.isPLI($0) { sawPLI = true } }
        #expect(sawPLI, "a PLI from a viewer on the other node reaches the publisher")
    }

    @Test func thePublishersSenderReportsReachTheOtherNodesViewersTimeline() async throws {
        let relay = try await Self.makeRelay(viewers: 1)
        let (origin, edge) = (relay.origin, relay.edge)
        defer { Task { await origin.shutdown(); await edge.shutdown() } }
        for i in 0..<6 {
            relay.publisher.sendRTP(payloadType: 96, sequence: 10 + UInt16(i), timestamp: 90_000 + UInt32(i) * 3000, ssrc: 4242,
                                    payload: Loopback.vp8Payload(keyframe: i == 0, fill: 1))
        }
        // An SR of the publisher: NTP 0x0000_0100_8000_0000 ↔ RTP 90000.
        let sr = withUnsafeTemporaryAllocation(byteCount: 28, alignment: 4) { buffer in
            let length = RTCPSenderReport.write(ssrc: 4242, ntpTimestamp: 0x0000_0100_8000_0000, rtpTimestamp: 90_000,
                                                packetCount: 6, octetCount: 1800, into: buffer)
            return Array(buffer[0..<length])
        }
        relay.publisher.sendRTCP(sr)
        // The viewer's consumer derives its own SRs (every second) from the one relayed to its node.
        var report: (ntp: UInt64, rtp: UInt32)?
        relay.viewers[0].receiveMedia(forMs: 1600) { received in
            guard case .rtcp(let bytes) = received, bytes.count >= 28, bytes[1] == 200 else { return }
            let ntp = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let rtp = bytes[16..<20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            report = (ntp, rtp)
        }
        let seen = try #require(report, "the viewer on the other node gets sender reports")
        #expect(seen.ntp >> 32 >= 0x100, "its NTP time follows the publisher's, not the other node's clock")
    }

    @Test func closingTheRelayClosesTheOtherNodesCopyAndItsViewersAndTheOriginStopsSending() async throws {
        let relay = try await Self.makeRelay(viewers: 2)
        let (origin, edge) = (relay.origin, relay.edge)
        defer { Task { await origin.shutdown(); await edge.shutdown() } }
        relay.publisher.sendRTP(payloadType: 96, sequence: 1, timestamp: 3000, ssrc: 4242,
                                payload: Loopback.vp8Payload(keyframe: true, fill: 1))
        #expect(await Loopback.waitUntil(1000) { await origin.stats().packetsRelayed == 1 })

        await relay.edge.closeTransport(relay.into)
        #expect(await Loopback.waitUntil(1000) { await relay.edge.stats().consumers == 0 },
                "the other node's copy and its consumers go with its end of the relay")
        await relay.origin.closeTransport(relay.out)
        #expect(await Loopback.waitUntil(1000) { await relay.origin.stats().transports == 1 })
        relay.publisher.sendRTP(payloadType: 96, sequence: 2, timestamp: 6000, ssrc: 4242,
                                payload: Loopback.vp8Payload(keyframe: true, fill: 2))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await relay.origin.stats().packetsRelayed == 1, "a closed relay gets no more copies")
        // The producer still works for its own node, and closes cleanly with no relay left.
        await relay.origin.closeTransport(relay.publisher.remote!.id)
        #expect(await Loopback.waitUntil(1000) { await relay.origin.stats().transports == 0 })
    }

    @Test func aRelayRefusesTakenOrZeroSSRCsAndAnAddressThatIsNoIP() async throws {
        let relay = try await Self.makeRelay(viewers: 0)
        let (origin, edge) = (relay.origin, relay.edge)
        defer { Task { await origin.shutdown(); await edge.shutdown() } }
        await #expect(throws: MediaError.self) {
            _ = try await relay.origin.relayProducer(relay.producer, over: relay.out, ssrcs: [Self.relaySSRC])
        }
        await #expect(throws: MediaError.self) {
            _ = try await relay.origin.relayProducer(relay.producer, over: relay.out, ssrcs: [0])
        }
        let keys = SRTPKeyingMaterial(profile: .aeadAES128GCM, localKey: Self.random(16), localSalt: Self.random(12),
                                      remoteKey: Self.random(16), remoteSalt: Self.random(12))
        await #expect(throws: MediaError.self, "an SSRC another relay on the worker takes") {
            _ = try await relay.edge.createRelay(RelayParameters(room: Self.room, label: "second", remoteIP: "127.0.0.1",
                                                                 remotePort: 9, keys: keys, rtcpSSRC: 1,
                                                                 inboundSSRCs: [Self.relaySSRC]))
        }
        await #expect(throws: MediaError.self, "not an address") {
            _ = try await relay.edge.createRelay(RelayParameters(room: Self.room, label: "bad", remoteIP: "sabha-2",
                                                                 remotePort: 9, keys: keys, rtcpSSRC: 1, inboundSSRCs: [77]))
        }
    }

    /// The other node's end played by the test with libsrtp (an implementation of its own): it decrypts what the
    /// relay sends with the agreed keys, and its NACK for a packet "lost" between the nodes is answered with that
    /// packet, same sequence number, under the relay's SSRC.
    @Test func aPacketLostBetweenTheNodesIsResentFromTheOriginsBufferWhenTheOtherNodeNACKsIt() async throws {
        let (origin, _) = try Loopback.makeEngine()
        defer { Task { await origin.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: origin.port, ufrag: "nackpub")
        publisher.remote = try await origin.createTransport(publisher.parameters(room: Self.room))
        publisher.server = TransportAddress(ip: "127.0.0.1", port: publisher.remote!.candidatePort)!
        let producer = try await origin.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [4242], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
            feedback: [.nack, .pli]))
        #expect(try publisher.connect())

        let edge = try LoopbackPeer(serverPort: origin.relayAddress(room: Self.room).port, ufrag: "fake-edge")
        let link = try #require(edge.link as? UDPPeerLink)
        var bound = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(link.fd, $0, &size) } }
        let edgePort = UInt16(bigEndian: bound.sin_port)
        let profile = SRTPProfile.aeadAES128GCM
        let toEdge = (key: Self.random(16), salt: Self.random(12)), toOrigin = (key: Self.random(16), salt: Self.random(12))
        edge.inbound = try SRTPSession(profile: profile, key: toEdge.key, salt: toEdge.salt, direction: .inbound)
        edge.outbound = try SRTPSession(profile: profile, key: toOrigin.key, salt: toOrigin.salt, direction: .outbound)
        let edgeRTCP: UInt32 = 0x0E0E_0001
        let relay = try await origin.createRelay(RelayParameters(
            room: Self.room, label: "relay to the test", remoteIP: "127.0.0.1", remotePort: edgePort,
            keys: SRTPKeyingMaterial(profile: profile, localKey: toEdge.key, localSalt: toEdge.salt,
                                     remoteKey: toOrigin.key, remoteSalt: toOrigin.salt),
            rtcpSSRC: 0x0A0A_0002, inboundSSRCs: [edgeRTCP]))
        _ = try await origin.relayProducer(producer, over: relay, ssrcs: [Self.relaySSRC])

        for i in 0..<10 {
            publisher.sendRTP(payloadType: 96, sequence: 500 + UInt16(i), timestamp: 9000 + UInt32(i) * 3000, ssrc: 4242,
                              payload: Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
        // 504 and 507 are "lost" between the nodes: never decrypted here (SRTP would refuse their resends as replays).
        var first: [UInt16: [UInt8]] = [:]
        var lost: [UInt16: [UInt8]] = [:]
        let end = MonotonicClock.milliseconds() + 400
        while MonotonicClock.milliseconds() < end {
            guard var datagram = edge.receive(), datagram.count > 12, datagram[1] & 0x7F == 96 else { continue }
            let sequence = UInt16(datagram[2]) << 8 | UInt16(datagram[3])
            if sequence == 504 || sequence == 507 { lost[sequence] = datagram; continue }
            var length = datagram.count
            datagram += [UInt8](repeating: 0, count: 32)
            guard datagram.withUnsafeMutableBytes({ edge.inbound!.unprotectRTP($0.baseAddress!, length: &length) }) == .ok,
                  let header = datagram.withUnsafeBytes({ RTPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) else { continue }
            #expect(header.ssrc == Self.relaySSRC && header.payloadType == 96, "as the publisher sent it, under the relay's SSRC")
            first[header.sequenceNumber] = Array(datagram[0..<length])
        }
        #expect(first.count == 8 && lost.count == 2, "every packet reaches the other node, decrypted there by libsrtp")

        // A generic NACK (RFC 4585) from the other node's RTCP SSRC for 504 and 507.
        let nack: [UInt8] = [0x81, 205, 0, 3] + withUnsafeBytes(of: edgeRTCP.bigEndian, Array.init)
            + withUnsafeBytes(of: Self.relaySSRC.bigEndian, Array.init) + [0x01, 0xF8, 0x00, 0x04]
        edge.sendRTCP(nack)
        var again: [UInt16: [UInt8]] = [:]
        edge.receiveMedia(forMs: 400) { received in
            guard case .rtp(let bytes) = received, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) else { return }
            again[header.sequenceNumber] = bytes
        }
        #expect(Set(again.keys) == [504, 507], "the two packets named, and nothing else")
        for sequence in [UInt16(504), 507] {
            let header = again[sequence].flatMap { bytes in bytes.withUnsafeBytes { RTPHeader.parse($0) } }
            #expect(header?.ssrc == Self.relaySSRC)
            #expect(again[sequence].map { Array($0[12...]) } == Loopback.vp8Payload(keyframe: false, fill: UInt8(sequence - 500)))
        }
        #expect(await origin.stats().packetsRetransmitted == 2)
    }
}
