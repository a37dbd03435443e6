import Glibc
import Testing
@testable import MediaCore

/// Viewers get RTCP sender reports derived from the publisher's, in their own SSRC and RTP time, so a browser
/// can synchronise audio with video — on the publisher's worker and through a pipe on another one.
@Suite(.serialized) struct MediaEngineSenderReportTests {
    typealias Loopback = MediaEngineLoopbackTests

    /// An SR for `ssrc` mapping `ntp` to `rtp`, as a publisher sends it.
    static func senderReport(ssrc: UInt32, ntp: UInt64, rtp: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 28)
        bytes.withUnsafeMutableBytes { buffer in
            _ = RTCPSenderReport.write(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: 10, octetCount: 3000, into: buffer)
        }
        return bytes
    }

    /// The viewer's SRs for `ssrc` that arrive within `ms`.
    static func receivedReports(_ viewer: LoopbackPeer, ssrc: UInt32, forMs ms: Int64) -> [(ntp: UInt64, rtp: UInt32, packets: UInt32)] {
        var reports: [(ntp: UInt64, rtp: UInt32, packets: UInt32)] = []
        viewer.receiveMedia(forMs: ms) { received in
            guard case .rtcp(let bytes) = received else { return }
            bytes.withUnsafeBytes { raw in
                for packet in RTCPCompound(raw) where packet.packetType == RTCPPacketType.senderReport {
                    if let report = RTCPSenderReport.parse(packet), report.ssrc == ssrc {
                        reports.append((report.ntpTimestamp, report.rtpTimestamp, report.packetCount))
                    }
                }
            }
        }
        return reports
    }

    /// The viewer's mapping must be the publisher's, carried forward: rtp − R = (ntp − N) × 90 kHz, within 5 ms.
    static func expectConsistent(_ report: (ntp: UInt64, rtp: UInt32, packets: UInt32), publisherNTP: UInt64, publisherRTP: UInt32,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let seconds = Double(report.ntp &- publisherNTP) / 4_294_967_296
        #expect(seconds >= 0 && seconds < 5, "the SR's NTP time moves on from the publisher's", sourceLocation: sourceLocation)
        let expected = Double(publisherRTP) + seconds * 90_000
        let difference = Double(Int32(bitPattern: report.rtp &- UInt32(truncatingIfNeeded: Int64(expected.rounded()))))
        #expect(abs(difference) < 450, "RTP time off by \(difference) ticks", sourceLocation: sourceLocation)
    }

    @Test func viewersOnBothWorkersGetSenderReportsWithThePublishersMappingInTheirOwnSSRC() async throws {
        let (engine, log) = try Loopback.makeEngine(workers: 2)
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "srpub")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "sr"))
        publisher.server = TransportAddress(ip: "127.0.0.1", port: publisher.remote!.candidatePort)!
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs()))
        var viewers: [LoopbackPeer] = []
        for i in 0..<2 {
            let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "srview\(i)")
            var parameters = viewer.parameters(room: "sr")
            parameters.receiveOnly = true
            viewer.remote = try await engine.createTransport(parameters)
            viewer.server = TransportAddress(ip: "127.0.0.1", port: viewer.remote!.candidatePort)!
            _ = try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
                producer: producer, mid: "0", ssrc: 2220 + UInt32(i), payloadType: 100, extensions: HeaderExtensionIDs()))
            viewers.append(viewer)
        }
        #expect(Set(viewers.map { $0.remote!.candidatePort }) == Set(engine.ports), "one viewer on each worker")
        #expect(try publisher.connect())
        for viewer in viewers { #expect(try viewer.connect()) }
        #expect(await Loopback.waitUntil(3000) { log.connectedCount() == 3 })

        // The publisher's SR, then media: a keyframe whose RTP time is 100 ms after the SR's.
        let ntp: UInt64 = 0xE7A1_0000_8000_0000
        let rtp: UInt32 = 4_000_000_000
        publisher.sendRTCP(Self.senderReport(ssrc: 1111, ntp: ntp, rtp: rtp))
        for i in 0..<10 {
            publisher.sendRTP(payloadType: 96, sequence: 500 + UInt16(i), timestamp: rtp &+ 9000 &+ UInt32(i / 2) * 3000, ssrc: 1111,
                              payload: Loopback.vp8Payload(keyframe: i == 0, fill: UInt8(i)))
        }
        for (i, viewer) in viewers.enumerated() {
            let reports = Self.receivedReports(viewer, ssrc: 2220 + UInt32(i), forMs: 1600)
            #expect(!reports.isEmpty, "viewer \(i) (port \(viewer.remote!.candidatePort)) gets an SR within a report interval")
            for report in reports {
                Self.expectConsistent(report, publisherNTP: ntp, publisherRTP: rtp)
                #expect(report.packets == 10)
            }
        }
    }

    @Test func noSenderReportBeforeThePublisherSentOne() async throws {
        let (engine, log) = try Loopback.makeEngine()
        defer { Task { await engine.shutdown() } }
        let publisher = try LoopbackPeer(serverPort: engine.port, ufrag: "nosrpub")
        let viewer = try LoopbackPeer(serverPort: engine.port, ufrag: "nosrview")
        publisher.remote = try await engine.createTransport(publisher.parameters(room: "nosr"))
        let producer = try await engine.addProducer(transport: publisher.remote!.id, ProducerParameters(
            kind: .audio, mid: "0", ssrcs: [77], payloadType: 111, clockRate: 48_000, extensions: HeaderExtensionIDs()))
        viewer.remote = try await engine.createTransport(viewer.parameters(room: "nosr"))
        _ = try await engine.addConsumer(transport: viewer.remote!.id, ConsumerParameters(
            producer: producer, mid: "0", ssrc: 88, payloadType: 111, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        #expect(await Loopback.waitUntil(2000) { log.connectedCount() == 2 })
        for i in 0..<10 {
            publisher.sendRTP(payloadType: 111, sequence: UInt16(i), timestamp: UInt32(i) * 960, ssrc: 77, payload: [UInt8](repeating: 1, count: 60))
        }
        #expect(Self.receivedReports(viewer, ssrc: 88, forMs: 1300).isEmpty, "no mapping to pass on yet")
    }
}
