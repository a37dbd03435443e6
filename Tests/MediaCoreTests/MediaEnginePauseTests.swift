import Testing
@testable import MediaCore

/// Pausing a consumer (`MediaEngine.setPaused`, mediasoup's `consumer.pause()`/`resume()`): the viewer hides the
/// tile, so nothing of the stream is sent to it, repairs included, and its keyframe requests reach nobody; on resume
/// a keyframe is asked for at once and the stream starts again at it, its numbers continuing from the last one sent.
/// On the embedded worker, with the commands going through the worker's command ring as the engine sends them.
@Suite struct MediaEnginePauseTests {
    typealias Repair = MediaWorkerRepairTests

    /// The viewer's RTP on its consumer's SSRC (2222): sequence numbers and timestamps, in arrival order.
    static func received(by viewer: LoopbackPeer) -> [(sequence: UInt16, timestamp: UInt32)] {
        var packets: [(UInt16, UInt32)] = []
        viewer.receiveMedia(forMs: 30) { packet in
            if case .rtp(let bytes) = packet, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }), header.ssrc == 2222 {
                packets.append((header.sequenceNumber, header.timestamp))
            }
        }
        return packets
    }

    /// PLIs (RFC 4585 6.3.1) the publisher receives for its SSRC 1111.
    static func keyframeRequests(to publisher: LoopbackPeer) -> Int {
        var count = 0
        publisher.receiveMedia(forMs: 30) { packet in
            guard case .rtcp(let bytes) = packet else { return }
            var offset = 0
            while offset + 12 <= bytes.count {
                let length = (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]) + 1) * 4
                if bytes[offset + 1] == 206, bytes[offset] & 0x1F == 1,
                   Array(bytes[(offset + 8)..<(offset + 12)]) == [0, 0, 0x04, 0x57] { count += 1 }
                offset += length
            }
        }
        return count
    }

    static func pli(media: UInt32) -> [UInt8] {
        [0x81, 206, 0, 2, 0, 0, 0, 9] + withUnsafeBytes(of: media.bigEndian, Array.init)
    }

    @Test func aPausedConsumerSendsNothingAndResumesAtAKeyframeWithContinuousNumbers() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, viewer) = try Repair.rtxPair(embedded)
        let consumer = try #require(embedded.worker.tables.consumers.keys.first)
        for sequence in UInt16(100)..<110 { Repair.media(publisher, sequence: sequence, keyframe: sequence == 100) }
        let before = Self.received(by: viewer)
        #expect(before.count == 10)
        let last = try #require(before.last)
        _ = Self.keyframeRequests(to: publisher)   // the one asked for when the viewer connected

        // Paused: twenty packets, a keyframe among them, and none reaches the viewer.
        #expect(embedded.worker.commands.push(.setPaused(consumer, true)))
        embedded.turn()
        for sequence in UInt16(110)..<130 { Repair.media(publisher, sequence: sequence, keyframe: sequence == 120) }
        #expect(Self.received(by: viewer).isEmpty, "no RTP while paused")
        // Nor a repair of what was sent before the pause, nor the viewer's keyframe request passed on.
        viewer.sendRTCP(MediaEngineSimulcastTests.nack(sender: 9, media: 2222, lost: last.sequence))
        embedded.advance(milliseconds: 1_000)
        viewer.sendRTCP(Self.pli(media: 2222))
        #expect(Self.received(by: viewer).isEmpty, "no retransmission while paused")
        embedded.advance(milliseconds: 1_000)
        #expect(Self.keyframeRequests(to: publisher) == 0, "a paused viewer asks for no keyframes")
        #expect(embedded.worker.local.packetsRetransmitted == 0)

        // Resumed: a keyframe is asked for at once; the stream starts again at it, not before.
        #expect(embedded.worker.commands.push(.setPaused(consumer, false)))
        embedded.turn()
        #expect(Self.keyframeRequests(to: publisher) == 1, "resuming asks the publisher for a keyframe")
        for sequence in UInt16(130)..<133 { Repair.media(publisher, sequence: sequence) }
        #expect(Self.received(by: viewer).isEmpty, "delta frames before the keyframe would not decode")
        embedded.advance(milliseconds: 20)
        for sequence in UInt16(133)..<137 { Repair.media(publisher, sequence: sequence, keyframe: sequence == 133) }
        let after = Self.received(by: viewer)
        #expect(after.map(\.sequence) == (1...4).map { last.sequence &+ UInt16($0) },
                "sequence numbers continue from the last one sent: the viewer sees no gap to NACK")
        #expect(after.allSatisfy { Int32(bitPattern: $0.timestamp &- last.timestamp) > 0 }, "time goes on")
    }

    @Test func pausedViewersCostNothingInTheirBandwidthShare() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, viewer) = try Repair.rtxPair(embedded)
        let id = try #require(embedded.worker.tables.consumers.keys.first)
        for sequence in UInt16(100)..<160 {
            Repair.media(publisher, sequence: sequence, keyframe: sequence == 100)
            embedded.advance(milliseconds: 33)
        }
        _ = Self.received(by: viewer)
        let consumer = try #require(embedded.worker.tables.consumers[id])
        let wanted = LayerAllocator.allocate([consumer], budget: Int.max, speaker: nil, nowMs: embedded.clock.milliseconds())
        #expect(wanted > 0)
        #expect(embedded.worker.commands.push(.setPaused(id, true)))
        embedded.turn()
        #expect(LayerAllocator.allocate([consumer], budget: Int.max, speaker: nil, nowMs: embedded.clock.milliseconds()) == 0)
    }
}
