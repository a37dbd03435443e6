import Testing
@testable import MediaCore

/// Synthetic simulcast streams through one Consumer: what the viewer sees must be one continuous stream.
struct SimulcastConsumerTests {
    /// One synthetic VP8 stream (one simulcast layer): its own SSRC and random-looking bases.
    struct Stream {
        var layer: Int
        var ssrc: UInt32
        var sequence: UInt16
        var timestamp: UInt32
        var pictureID: UInt16
        var tl0: UInt8
    }

    /// A frame's packets: RTP header + VP8 descriptor (X, I with 15-bit PictureID, L, T) + VP8 header byte.
    static func framePackets(_ stream: inout Stream, tid: UInt8, keyframe: Bool, packets: Int = 2) -> [[UInt8]] {
        var result: [[UInt8]] = []
        if tid == 0 { stream.tl0 &+= 1 }
        stream.pictureID = (stream.pictureID &+ 1) & 0x7FFF
        stream.timestamp &+= 3000
        for index in 0..<packets {
            stream.sequence &+= 1
            var bytes: [UInt8] = [0x80, UInt8(index == packets - 1 ? 0x80 : 0) | 96]
            bytes += [UInt8(stream.sequence >> 8), UInt8(stream.sequence & 0xFF)]
            bytes += withUnsafeBytes(of: stream.timestamp.bigEndian, Array.init)
            bytes += withUnsafeBytes(of: stream.ssrc.bigEndian, Array.init)
            let start: UInt8 = index == 0 ? 0x10 : 0x00
            bytes += [0x80 | start, 0xE0, 0x80 | UInt8(stream.pictureID >> 8), UInt8(stream.pictureID & 0xFF), stream.tl0,
                      tid << 6 | (tid > 0 ? 0x20 : 0)]
            bytes += [index == 0 && keyframe ? 0x00 : 0x01] + [UInt8](repeating: UInt8(stream.layer), count: 20)
            result.append(bytes)
        }
        return result
    }

    final class Harness {
        let transport: WebRTCTransport
        let producer: Producer
        let consumer: Consumer
        var out = [UInt8](repeating: 0, count: 1600)
        var sent: [(sequence: UInt16, timestamp: UInt32, pictureID: UInt16, tl0: UInt8, layer: UInt8, marker: Bool)] = []
        var keyframeRequests = 0

        init(rtx: Bool = false) throws {
            let context = try DTLSContext(certificate: try DTLSCertificate(), profiles: [.aes128CMHMACSHA1_80])
            func makeTransport(_ index: Int) throws -> WebRTCTransport {
                let parameters = TransportParameters(room: "r", label: "t\(index)", remoteUfrag: "u\(index)",
                                                     remotePassword: "remote-password-\(index)", remoteFingerprints: [])
                return WebRTCTransport(id: TransportID(UInt64(index)), parameters: parameters, localUfrag: "l\(index)",
                                       localPassword: "local-password-\(index)",
                                       dtls: try DTLSEndpoint(context: context, role: .server, remoteFingerprints: []), now: 0)
            }
            let publisher = try makeTransport(1)
            transport = try makeTransport(2)
            producer = Producer(id: ProducerID(1), transport: publisher, home: 0, parameters: ProducerParameters(
                kind: .video, mid: "0", ssrcs: [], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
                encodings: [ProducerEncoding(rid: "q", ssrc: 10), ProducerEncoding(rid: "h", ssrc: 20), ProducerEncoding(rid: "f", ssrc: 30)]))
            consumer = Consumer(id: ConsumerID(1), transport: transport, producer: producer, parameters: ConsumerParameters(
                producer: producer.id, mid: "1", ssrc: 4242, payloadType: 100, extensions: HeaderExtensionIDs(),
                rtxPayloadType: rtx ? 101 : 0, rtxSSRC: rtx ? 4343 : 0))
        }

        /// Offers one packet to the consumer as the worker would; records what the viewer got.
        @discardableResult
        func feed(_ bytes: [UInt8], layer: Int, nowMs: Int64 = 0) -> Bool {
            bytes.withUnsafeBytes { raw in
                let header = RTPHeader.parse(raw)!
                var packet = IncomingPacket(header: header)
                packet.spatialLayer = layer
                precondition(packet.readVP8(raw))
                var needsKeyframe = false
                let numbers = consumer.accept(packet, nowMs: nowMs, needsKeyframe: &needsKeyframe)
                if needsKeyframe { keyframeRequests += 1 }
                guard let numbers else { return false }
                let length = out.withUnsafeMutableBytes { consumer.write(packet, raw, numbers, transportSequence: -1, rtx: false, into: $0.baseAddress!) }
                consumer.noteForwarded(packet, numbers)
                let written = out.withUnsafeBytes { RTPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<length]))! }
                #expect(written.ssrc == 4242)
                #expect(written.payloadType == 100)
                let payload = written.headerLength
                sent.append((written.sequenceNumber, written.timestamp,
                             UInt16(out[payload + 2] & 0x7F) << 8 | UInt16(out[payload + 3]), out[payload + 4],
                             out[payload + 7], written.marker))
                return true
            }
        }

        func feedFrame(_ stream: inout Stream, tid: UInt8 = 0, keyframe: Bool = false, nowMs: Int64 = 0) {
            for packet in SimulcastConsumerTests.framePackets(&stream, tid: tid, keyframe: keyframe) {
                feed(packet, layer: stream.layer, nowMs: nowMs)
            }
        }

        /// Every output sequence number is the previous plus one; every new frame's PictureID the previous plus one.
        func expectContinuous(sourceLocation: SourceLocation = #_sourceLocation) {
            for (previous, next) in zip(sent, sent.dropFirst()) {
                #expect(next.sequence == previous.sequence &+ 1, "sequence gap \(previous.sequence) → \(next.sequence)", sourceLocation: sourceLocation)
                if next.timestamp != previous.timestamp {
                    #expect(next.pictureID == (previous.pictureID &+ 1) & 0x7FFF, "PictureID gap \(previous.pictureID) → \(next.pictureID)", sourceLocation: sourceLocation)
                    #expect(Int32(bitPattern: next.timestamp &- previous.timestamp) > 0, "timestamp went back", sourceLocation: sourceLocation)
                } else {
                    #expect(next.pictureID == previous.pictureID, sourceLocation: sourceLocation)
                }
            }
        }
    }

    static func streams() -> [Stream] {
        [Stream(layer: 0, ssrc: 10, sequence: 65_500, timestamp: 4_000_000_000, pictureID: 32_700, tl0: 250),
         Stream(layer: 1, ssrc: 20, sequence: 7, timestamp: 12_345, pictureID: 9, tl0: 3),
         Stream(layer: 2, ssrc: 30, sequence: 30_000, timestamp: 2_000_000_000, pictureID: 16_000, tl0: 100)]
    }

    @Test func startsOnlyAtAKeyframeOfTheTargetLayer() throws {
        let h = try Harness()
        var s = Self.streams()
        h.consumer.targetSpatial = 1
        h.feedFrame(&s[0], keyframe: true)  // not the target
        h.feedFrame(&s[1])                  // target, but a delta frame
        #expect(h.sent.isEmpty)
        #expect(h.keyframeRequests > 0)
        h.feedFrame(&s[1], keyframe: true)
        h.feedFrame(&s[1])
        #expect(h.sent.count == 4)
        #expect(h.sent.allSatisfy { $0.layer == 1 })
        #expect(h.consumer.currentSpatial == 1)
        h.expectContinuous()
    }

    @Test func spatialSwitchesKeepEveryNumberContinuousAcrossWrapAround() throws {
        let h = try Harness()
        var s = Self.streams()
        h.consumer.targetSpatial = 0
        h.feedFrame(&s[0], keyframe: true, nowMs: 0)
        for i in 1...40 {
            // All three layers arrive interleaved, as from a browser; layer 0 wraps its sequence and PictureID.
            for layer in 0..<3 { h.feedFrame(&s[layer], keyframe: false, nowMs: Int64(i) * 33) }
        }
        h.consumer.targetSpatial = 2
        for i in 41...50 { for layer in 0..<3 { h.feedFrame(&s[layer], nowMs: Int64(i) * 33) } }
        // Until layer 2's keyframe, layer 0 keeps going.
        #expect(h.sent.last?.layer == 0)
        h.feedFrame(&s[2], keyframe: true, nowMs: 51 * 33)
        for i in 52...60 { for layer in 0..<3 { h.feedFrame(&s[layer], nowMs: Int64(i) * 33) } }
        #expect(h.sent.last?.layer == 2)
        // And back down.
        h.consumer.targetSpatial = 1
        h.feedFrame(&s[1], keyframe: true, nowMs: 61 * 33)
        for i in 62...70 { for layer in 0..<3 { h.feedFrame(&s[layer], nowMs: Int64(i) * 33) } }
        #expect(h.sent.last?.layer == 1)
        #expect(Set(h.sent.map(\.layer)) == [0, 1, 2])
        h.expectContinuous()
        // TL0PICIDX continues too: it never jumps by more than one between TID 0 frames.
        for (previous, next) in zip(h.sent, h.sent.dropFirst()) {
            #expect(next.tl0 == previous.tl0 || next.tl0 == previous.tl0 &+ 1)
        }
    }

    @Test func dropsTemporalLayersAboveTheTargetWithoutGaps() throws {
        let h = try Harness()
        var s = Self.streams()
        h.consumer.targetSpatial = 0
        h.consumer.targetTemporal = 2
        // L1T3 pattern: 0 2 1 2 0 2 1 2 ...
        let pattern: [UInt8] = [0, 2, 1, 2]
        h.feedFrame(&s[0], tid: 0, keyframe: true)
        for i in 1..<16 { h.feedFrame(&s[0], tid: pattern[i % 4]) }
        let full = h.sent.count
        #expect(full == 32)
        h.consumer.targetTemporal = 0
        for i in 16..<48 { h.feedFrame(&s[0], tid: pattern[i % 4]) }
        // Only TID 0 frames pass now: 8 of 32 frames, 2 packets each.
        #expect(h.sent.count == full + 16)
        h.expectContinuous()
        // Up again: switches at the next TID 0 (or layer sync) frame.
        h.consumer.targetTemporal = 2
        for i in 48..<56 { h.feedFrame(&s[0], tid: pattern[i % 4]) }
        #expect(h.sent.count == full + 16 + 16)
        h.expectContinuous()
    }

    @Test func lateAndRetransmittedPacketsKeepTheirNumbers() throws {
        let h = try Harness()
        var s = Self.streams()
        h.consumer.targetSpatial = 0
        let first = Self.framePackets(&s[0], tid: 0, keyframe: true)
        let second = Self.framePackets(&s[0], tid: 0, keyframe: false)
        h.feed(first[0], layer: 0)
        h.feed(second[0], layer: 0)
        h.feed(second[1], layer: 0)
        h.feed(first[1], layer: 0)  // reordered: arrives last
        let sequences = h.sent.map(\.sequence)
        #expect(sequences == [sequences[0], sequences[0] &+ 2, sequences[0] &+ 3, sequences[0] &+ 1])
        // The log finds what was sent under each number, for NACKs.
        let entry = try #require(h.consumer.sent?.entry(sequences[3]))
        #expect(entry.pointee.sourceSequence == first[1].withUnsafeBytes { RTPHeader.parse($0)!.sequenceNumber })
        #expect(entry.pointee.layer == 0)
        #expect(h.consumer.sent?.entry(sequences[0] &+ 100) == nil)
    }

    @Test func writesRetransmissionsAsRTXWithTheOriginalSequenceNumberFirst() throws {
        let h = try Harness(rtx: true)
        var s = Self.streams()
        h.consumer.targetSpatial = 0
        let packets = Self.framePackets(&s[0], tid: 0, keyframe: true)
        h.feed(packets[0], layer: 0)
        let original = h.sent[0]
        var out = [UInt8](repeating: 0, count: 1600)
        let length = try packets[0].withUnsafeBytes { raw in
            var packet = IncomingPacket(header: try #require(RTPHeader.parse(raw)))
            let readable = packet.readVP8(raw)
            #expect(readable)
            let numbers = OutgoingNumbers(sequence: original.sequence, timestamp: original.timestamp,
                                          pictureID: original.pictureID, tl0PicIdx: original.tl0)
            return out.withUnsafeMutableBytes { h.consumer.write(packet, raw, numbers, transportSequence: 77, rtx: true, into: $0.baseAddress!) }
        }
        let header = try #require(out.withUnsafeBytes { RTPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<length])) })
        #expect(header.payloadType == 101)
        #expect(header.ssrc == 4343)
        #expect(header.sequenceNumber == h.consumer.rtxSequence)
        #expect(UInt16(out[header.headerLength]) << 8 | UInt16(out[header.headerLength + 1]) == original.sequence)
        // The VP8 payload follows unchanged except the rewritten PictureID.
        let payload = Array(out[(header.headerLength + 2)..<length])
        #expect(payload.count == packets[0].count - 12)
        #expect(UInt16(payload[2] & 0x7F) << 8 | UInt16(payload[3]) == original.pictureID)
        #expect(payload[6...] == packets[0][18...])
    }

    @Test func writesMIDAndTransportWideSequenceExtensions() throws {
        let context = try DTLSContext(certificate: try DTLSCertificate(), profiles: [.aes128CMHMACSHA1_80])
        let parameters = TransportParameters(room: "r", label: "t", remoteUfrag: "u", remotePassword: "remote-password-x", remoteFingerprints: [])
        let transport = WebRTCTransport(id: TransportID(9), parameters: parameters, localUfrag: "l", localPassword: "local-password-x",
                                        dtls: try DTLSEndpoint(context: context, role: .server, remoteFingerprints: []), now: 0)
        let producer = Producer(id: ProducerID(2), transport: transport, home: 0, parameters: ProducerParameters(
            kind: .video, mid: "0", ssrcs: [10], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs()))
        var extensions = HeaderExtensionIDs()
        extensions.mid = 4
        extensions.transportWideCC = 5
        let consumer = Consumer(id: ConsumerID(3), transport: transport, producer: producer, parameters: ConsumerParameters(
            producer: producer.id, mid: "video-12", ssrc: 1, payloadType: 96, extensions: extensions))
        var stream = Self.streams()[0]
        let packet = Self.framePackets(&stream, tid: 0, keyframe: true)[0]
        var out = [UInt8](repeating: 0xEE, count: 1600)
        let length = packet.withUnsafeBytes { raw in
            var incoming = IncomingPacket(header: RTPHeader.parse(raw)!)
            _ = incoming.readVP8(raw)
            var needsKeyframe = false
            let numbers = consumer.accept(incoming, nowMs: 0, needsKeyframe: &needsKeyframe)!
            return out.withUnsafeMutableBytes { consumer.write(incoming, raw, numbers, transportSequence: 0xABCD, rtx: false, into: $0.baseAddress!) }
        }
        try out.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            let header = try #require(RTPHeader.parse(bytes))
            let mid = try #require(header.extensionElement(id: 4, in: bytes))
            #expect(Array(bytes[mid.offset..<(mid.offset + mid.length)]) == Array("video-12".utf8))
            let twcc = try #require(header.extensionElement(id: 5, in: bytes))
            #expect(twcc.length == 2)
            #expect(bytes.u16(twcc.offset) == 0xABCD)
            #expect(header.payloadLength == packet.count - 12)
        }
    }

    @Test func sequenceRewriterHidesDropsAndMapsLatePacketsBeforeTheDrop() {
        var rewriter = SequenceRewriter(bits: 16)
        rewriter.sync(input: 65_534, initial: 10)
        #expect(rewriter.map(65_534) == 10)
        #expect(rewriter.map(65_535) == 11)
        rewriter.drop(0)
        rewriter.drop(0)  // twice changes nothing
        #expect(rewriter.map(1) == 12)
        #expect(rewriter.map(65_535) == 11)  // late, from before the drop
        rewriter.sync(input: 40_000, initial: 0)
        #expect(rewriter.map(40_000) == 13)
        var pictureIDs = SequenceRewriter(bits: 15)
        pictureIDs.sync(input: 0x7FFF, initial: 0x7FFE)
        #expect(pictureIDs.map(0) == 0x7FFF)
        #expect(pictureIDs.map(1) == 0)
    }
}
