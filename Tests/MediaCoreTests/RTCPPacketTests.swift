import Testing
@testable import MediaCore
import SabhaTestSupport

/// RTCP packets built by hand from the RFC layouts.
enum RTCPVectors {
    /// SR (RFC 3550 6.4.1), RC=1.
    static let senderReport: [UInt8] = [
        0x81, 0xC8, 0x00, 0x0C,
        0x11, 0x22, 0x33, 0x44,  // SSRC of sender
        0xE9, 0x4B, 0x3A, 0x10, 0x80, 0x00, 0x00, 0x00,  // NTP
        0x00, 0x01, 0xE2, 0x40,  // RTP timestamp 123456
        0x00, 0x00, 0x03, 0xE8,  // packet count 1000
        0x00, 0x0F, 0x42, 0x40,  // octet count 1000000
        0x55, 0x66, 0x77, 0x88, 0x19, 0xFF, 0xFF, 0xFE,  // SSRC_1, fraction 25, cumulative lost -2
        0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x2A,  // ext highest seq 65552, jitter 42
        0x3A, 0x10, 0x80, 0x00, 0x00, 0x01, 0x00, 0x00,  // LSR, DLSR
    ]

    /// SDES (RFC 3550 6.5), one chunk with CNAME "abcdefghijklmnop" and a NOTE item.
    static let sourceDescription: [UInt8] = [
        0x81, 0xCA, 0x00, 0x07,
        0x11, 0x22, 0x33, 0x44,
        0x07, 0x02, 0x68, 0x69,  // NOTE "hi"
        0x01, 0x10, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
        0x00, 0x00,  // null item + padding to 32 bits
    ]

    /// A packet type nobody defined (210): skipped by the iterator.
    static let unknown: [UInt8] = [0x80, 0xD2, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF]

    /// PLI (RFC 4585 6.3.1).
    static let pli: [UInt8] = [0x81, 0xCE, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]

    /// Transport-wide CC feedback: a run-length chunk (3 small), a 1-bit vector (14 symbols, 4
    /// received) and a 2-bit vector (7 symbols: small, large, none, small, none, none, none).
    static let twcc: [UInt8] = [
        0xAF, 0xCD, 0x00, 0x09,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x00, 0x64, 0x00, 0x18,  // base sequence 100, status count 24
        0xFF, 0xFF, 0xFE, 0x07,  // reference time -2, fb packet count 7
        0x20, 0x03,  // run length: small delta × 3
        0xAC, 0x01,  // 1-bit vector 10110000000001
        0xD8, 0x44,  // 2-bit vector 01 10 00 01 00 01 00
        0x04, 0x08, 0x00, 0xFF, 0x01, 0x02, 0x03,  // 7 small deltas
        0x05, 0xFF, 0xFC, 0x06, 0x07,  // small 5, large -4, small 6, small 7
        0x00, 0x02,  // padding (P bit), count 2
    ]

    /// REMB (draft-alvestrand-rmcat-remb): exponent 3, mantissa 100000 → 800 kbit/s, 2 SSRCs.
    static let remb: [UInt8] = [
        0x8F, 0xCE, 0x00, 0x06,
        0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00,
        0x52, 0x45, 0x4D, 0x42, 0x02, 0x0D, 0x86, 0xA0,
        0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC,
    ]

    /// Generic NACK (RFC 4585 6.2.1): PID 1000 BLP 0b1000_0000_0000_0101, PID 65535 BLP 0b11.
    static let nack: [UInt8] = [
        0x81, 0xCD, 0x00, 0x04,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x03, 0xE8, 0x80, 0x05, 0xFF, 0xFF, 0x00, 0x03,
    ]

    /// FIR (RFC 5104 4.3.1), two entries.
    static let fir: [UInt8] = [
        0x84, 0xCE, 0x00, 0x06,
        0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00,
        0x55, 0x66, 0x77, 0x88, 0x05, 0x00, 0x00, 0x00,
        0x99, 0xAA, 0xBB, 0xCC, 0xFF, 0x00, 0x00, 0x00,
    ]

    /// BYE (RFC 3550 6.6), two SSRCs and the reason "gone".
    static let bye: [UInt8] = [
        0x82, 0xCB, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x04, 0x67, 0x6F, 0x6E, 0x65, 0x00, 0x00, 0x00,
    ]

    static let all = [senderReport, sourceDescription, unknown, pli, twcc, remb, nack, fir, bye]
}

struct RTCPPacketTests {
    private func first(_ bytes: [UInt8], _ body: (RTCPHeaderView) -> Void) {
        bytes.withUnsafeBytes { raw in
            guard let view = RTCPHeaderView.parse(raw) else { Issue.record("header did not parse"); return }
            body(view)
        }
    }

    @Test func compoundSRSDESUnknownPLIIsIteratedAndDecoded() {
        let compound = RTCPVectors.senderReport + RTCPVectors.sourceDescription + RTCPVectors.unknown + RTCPVectors.pli
        compound.withUnsafeBytes { raw in
            let packets = RTCPCompound(raw)
            #expect(packets.isWellFormed)
            var types: [UInt8] = []
            var lengths: [Int] = []
            for packet in packets {
                types.append(packet.packetType)
                lengths.append(packet.length)
                #expect(packet.version == 2)
                switch packet.packetType {
                case RTCPPacketType.senderReport:
                    let sr = RTCPSenderReport.parse(packet)!
                    #expect(sr.ssrc == 0x1122_3344)
                    #expect(sr.ntpTimestamp == 0xE94B_3A10_8000_0000)
                    #expect(sr.rtpTimestamp == 123_456 && sr.packetCount == 1000 && sr.octetCount == 1_000_000)
                    #expect(sr.reportCount == 1)
                    #expect(sr.reportBlock(0) == RTCPReportBlock(
                        ssrc: 0x5566_7788, fractionLost: 25, cumulativeLost: -2, extendedHighestSequenceNumber: 65552,
                        jitter: 42, lastSenderReport: 0x3A10_8000, delaySinceLastSenderReport: 0x0001_0000))
                case RTCPPacketType.sourceDescription:
                    let sdes = RTCPSourceDescription.parse(packet)!
                    let chunks = Array(sdes)
                    #expect(chunks.count == 1)
                    #expect(chunks[0].ssrc == 0x1122_3344)
                    #expect(chunks[0].cname == "abcdefghijklmnop")
                case RTCPPacketType.payloadSpecificFeedback:
                    #expect(RTCPPictureLossIndication.parse(packet) == RTCPPictureLossIndication(senderSSRC: 0x1122_3344, mediaSSRC: 0x5566_7788))
                    #expect(RTCPFullIntraRequest.parse(packet) == nil)
                    #expect(RTCPReceiverEstimatedMaxBitrate.parse(packet) == nil)
                default:
                    #expect(packet.packetType == 210)
                }
            }
            #expect(types == [200, 202, 210, 206])
            #expect(lengths == [52, 32, 8, 12])
        }
    }

    @Test func truncatedCompoundStopsAndReportsMalformed() {
        let compound = RTCPVectors.senderReport + RTCPVectors.pli
        for cut in 1..<compound.count where cut != 52 {
            Array(compound[0..<cut]).withUnsafeBytes { raw in
                let packets = RTCPCompound(raw)
                var iterator = packets.makeIterator()
                var count = 0
                while iterator.next() != nil { count += 1 }
                #expect(iterator.malformed)
                #expect(!packets.isWellFormed)
                #expect(count == (cut >= 52 ? 1 : 0))
            }
        }
        var badVersion = RTCPVectors.pli
        badVersion[0] = 0x41
        (RTCPVectors.senderReport + badVersion).withUnsafeBytes { raw in
            #expect(Array(RTCPCompound(raw)).count == 1)
            #expect(!RTCPCompound(raw).isWellFormed)
        }
    }

    @Test func transportWideFeedbackDecodesEveryChunkKind() throws {
        var decoded: RTCPTransportWideFeedback?
        first(RTCPVectors.twcc) { decoded = RTCPTransportWideFeedback.parse($0) }
        let feedback = try #require(decoded)
        #expect(feedback.senderSSRC == 0x1122_3344 && feedback.mediaSSRC == 0x5566_7788)
        #expect(feedback.baseSequenceNumber == 100 && feedback.packetStatusCount == 24)
        #expect(feedback.referenceTime == -2 && feedback.referenceTimeMicroseconds == -128_000)
        #expect(feedback.feedbackPacketCount == 7)
        let s = RTCPTransportWideFeedback.Status.smallDelta
        let n = RTCPTransportWideFeedback.Status.notReceived
        let l = RTCPTransportWideFeedback.Status.largeOrNegativeDelta
        #expect(feedback.statuses == [s, s, s] + [s, n, s, s, n, n, n, n, n, n, n, n, n, s] + [s, l, n, s, n, s, n])
        #expect(feedback.deltas == [4, 8, 0, 255, 1, 2, 3, 5, -4, 6, 7])
        // Cut deltas: nil.
        var short = RTCPVectors.twcc
        short[0] = 0x8F  // no padding: the last bytes become deltas... then drop a word
        short.removeLast(8)
        short[3] = 0x07
        first(short) { #expect(RTCPTransportWideFeedback.parse($0) == nil) }
    }

    @Test func transportWideFeedbackRunLengthsOfLargeAndMissingPackets() throws {
        let bytes: [UInt8] = [
            0x8F, 0xCD, 0x00, 0x05,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
            0xFF, 0xFF, 0x03, 0xEA, 0x00, 0x00, 0x10, 0x00,  // base 65535, 1002 packets, ref 16, count 0
            0x43, 0xE8,  // run length: large × 1000 would be... S=2 run 1000
            0x00, 0x02,  // run length: not received × 2
        ]
        // 1000 large deltas do not fit: nil.
        first(bytes) { #expect(RTCPTransportWideFeedback.parse($0) == nil) }
        var fits = bytes
        fits[14] = 0x00; fits[15] = 0x04  // 4 packets
        fits[20] = 0x40; fits[21] = 0x02  // large × 2
        fits[22] = 0x00; fits[23] = 0x05  // not received × 5 (only 2 counted)
        fits += [0x01, 0x00, 0x80, 0x00]
        fits[3] = 0x06
        var decoded: RTCPTransportWideFeedback?
        first(fits) { decoded = RTCPTransportWideFeedback.parse($0) }
        let feedback = try #require(decoded)
        #expect(feedback.statuses == [.largeOrNegativeDelta, .largeOrNegativeDelta, .notReceived, .notReceived])
        #expect(feedback.deltas == [256, -32768])
        #expect(feedback.referenceTime == 16)
        var reserved = fits
        reserved[20] = 0x60  // symbol 3 is reserved
        first(reserved) { #expect(RTCPTransportWideFeedback.parse($0) == nil) }
    }

    @Test func genericNACKListsLostSequenceNumbers() {
        first(RTCPVectors.nack) { packet in
            let nack = RTCPGenericNACK.parse(packet)!
            #expect(nack.senderSSRC == 0x1122_3344 && nack.mediaSSRC == 0x5566_7788 && nack.itemCount == 2)
            #expect(Array(nack.lostSequenceNumbers) == [1000, 1001, 1003, 1016, 65535, 0, 1])
        }
    }

    @Test func genericNACKWriterRoundTrips() {
        let lost: [UInt16] = [65530, 65531, 65535, 3, 10, 11, 40, 41, 56]
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes { out in
            lost.withUnsafeBufferPointer { RTCPGenericNACK.write(senderSSRC: 1, mediaSSRC: 2, lost: $0, into: out) }
        }
        #expect(length == 12 + 3 * 4)
        first(Array(buffer[0..<length])) { packet in
            let nack = RTCPGenericNACK.parse(packet)!
            #expect(nack.mediaSSRC == 2)
            #expect(Array(nack.lostSequenceNumbers) == lost)
        }
        var tiny = [UInt8](repeating: 0, count: 19)
        let refused = tiny.withUnsafeMutableBytes { out in
            lost.withUnsafeBufferPointer { RTCPGenericNACK.write(senderSSRC: 1, mediaSSRC: 2, lost: $0, into: out) }
        }
        #expect(refused == 0)
    }

    @Test func firAndREMBAndBYEDecode() {
        first(RTCPVectors.fir) { packet in
            let fir = RTCPFullIntraRequest.parse(packet)!
            #expect(fir.senderSSRC == 0x1122_3344 && fir.entryCount == 2)
            #expect(fir.entry(0) == (0x5566_7788, 5))
            #expect(fir.entry(1) == (0x99AA_BBCC, 255))
            #expect(RTCPPictureLossIndication.parse(packet) == nil)
        }
        first(RTCPVectors.remb) { packet in
            let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet)!
            #expect(remb.senderSSRC == 0x1122_3344)
            #expect(remb.bitrate == 800_000)
            #expect(remb.ssrcCount == 2 && remb.ssrc(0) == 0x5566_7788 && remb.ssrc(1) == 0x99AA_BBCC)
        }
        first(RTCPVectors.bye) { packet in
            let bye = RTCPBye.parse(packet)!
            #expect(bye.sourceCount == 2 && bye.ssrc(0) == 0x1122_3344 && bye.ssrc(1) == 0x5566_7788)
            #expect(bye.reason == "gone")
        }
    }

    @Test func writersRoundTripThroughDecoders() {
        var buffer = [UInt8](repeating: 0, count: 256)
        let block = RTCPReportBlock(ssrc: 9, fractionLost: 1, cumulativeLost: -8_388_608, extendedHighestSequenceNumber: 0x0002_0001,
                                    jitter: 3, lastSenderReport: 4, delaySinceLastSenderReport: 5)
        // SR: writing the vector's fields gives the vector's bytes.
        var length = buffer.withUnsafeMutableBytes { out in
            [RTCPReportBlock(ssrc: 0x5566_7788, fractionLost: 25, cumulativeLost: -2, extendedHighestSequenceNumber: 65552,
                             jitter: 42, lastSenderReport: 0x3A10_8000, delaySinceLastSenderReport: 0x0001_0000)]
                .withUnsafeBufferPointer {
                    RTCPSenderReport.write(ssrc: 0x1122_3344, ntpTimestamp: 0xE94B_3A10_8000_0000, rtpTimestamp: 123_456,
                                           packetCount: 1000, octetCount: 1_000_000, reportBlocks: $0, into: out)
                }
        }
        #expect(Array(buffer[0..<length]) == RTCPVectors.senderReport)

        length = buffer.withUnsafeMutableBytes { out in
            [block, block].withUnsafeBufferPointer { RTCPReceiverReport.write(ssrc: 77, reportBlocks: $0, into: out) }
        }
        #expect(length == 56)
        first(Array(buffer[0..<length])) { packet in
            let rr = RTCPReceiverReport.parse(packet)!
            #expect(rr.ssrc == 77 && rr.reportCount == 2 && rr.reportBlock(1) == block)
        }
        length = buffer.withUnsafeMutableBytes { RTCPReceiverReport.write(ssrc: 78, into: $0) }
        #expect(length == 8)

        length = buffer.withUnsafeMutableBytes { RTCPPictureLossIndication.write(senderSSRC: 0x1122_3344, mediaSSRC: 0x5566_7788, into: $0) }
        #expect(Array(buffer[0..<length]) == RTCPVectors.pli)

        length = buffer.withUnsafeMutableBytes { RTCPFullIntraRequest.write(senderSSRC: 0x1122_3344, targetSSRC: 0x5566_7788, sequenceNumber: 5, into: $0) }
        #expect(length == 20)
        #expect(Array(buffer[0..<4]) == [0x84, 0xCE, 0x00, 0x04])
        #expect(Array(buffer[4..<length]) == Array(RTCPVectors.fir[4..<20]))

        length = buffer.withUnsafeMutableBytes { out in
            [UInt32(0x5566_7788), 0x99AA_BBCC].withUnsafeBufferPointer { RTCPReceiverEstimatedMaxBitrate.write(senderSSRC: 0x1122_3344, bitrate: 800_000, ssrcs: $0, into: out) }
        }
        // The writer normalises the mantissa (800000 = 200000 × 2^2), so compare through the decoder.
        #expect(length == RTCPVectors.remb.count)
        #expect(Array(buffer[0..<16]) == Array(RTCPVectors.remb[0..<16]))
        first(Array(buffer[0..<length])) { packet in
            let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet)!
            #expect(remb.bitrate == 800_000 && remb.ssrcCount == 2 && remb.ssrc(1) == 0x99AA_BBCC)
        }
        length = buffer.withUnsafeMutableBytes { out in
            [UInt32(1)].withUnsafeBufferPointer { RTCPReceiverEstimatedMaxBitrate.write(senderSSRC: 2, bitrate: 3_000_000_000, ssrcs: $0, into: out) }
        }
        first(Array(buffer[0..<length])) { packet in
            let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet)!
            #expect(remb.bitrate <= 3_000_000_000 && remb.bitrate > 2_999_000_000)
        }

        length = buffer.withUnsafeMutableBytes { out in
            [UInt32(0x1122_3344), 0x5566_7788].withUnsafeBufferPointer { RTCPBye.write(ssrcs: $0, reason: "gone", into: out) }
        }
        #expect(Array(buffer[0..<length]) == RTCPVectors.bye)
        length = buffer.withUnsafeMutableBytes { out in
            [UInt32(7)].withUnsafeBufferPointer { RTCPBye.write(ssrcs: $0, into: out) }
        }
        #expect(length == 8)
        first(Array(buffer[0..<length])) { packet in
            let bye = RTCPBye.parse(packet)!
            #expect(bye.sourceCount == 1 && bye.ssrc(0) == 7 && bye.reason == nil)
        }
    }

    @Test func writersRefuseTooSmallBuffers() {
        var buffer = [UInt8](repeating: 0, count: 11)
        buffer.withUnsafeMutableBytes { out in
            #expect(RTCPPictureLossIndication.write(senderSSRC: 1, mediaSSRC: 2, into: out) == 0)
            #expect(RTCPFullIntraRequest.write(senderSSRC: 1, targetSSRC: 2, sequenceNumber: 0, into: out) == 0)
            #expect(RTCPSenderReport.write(ssrc: 1, ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, into: out) == 0)
        }
    }

    @Test func survivesRandomAndTruncatedInput() {
        let samples = RTCPVectors.all + [RTCPVectors.all.reduce([], +)]
        var decoded = 0
        fuzz(seed: 0x5254_4350, samples: samples) { raw in
            for packet in RTCPCompound(raw) {
                #expect(packet.length >= 4 && packet.length % 4 == 0)
                if let sr = RTCPSenderReport.parse(packet) { decoded += 1; for i in 0..<sr.reportCount { _ = sr.reportBlock(i) } }
                if let rr = RTCPReceiverReport.parse(packet) { decoded += 1; for i in 0..<rr.reportCount { _ = rr.reportBlock(i) } }
                if let sdes = RTCPSourceDescription.parse(packet) { decoded += 1; for chunk in sdes { _ = chunk.cname } }
                if let bye = RTCPBye.parse(packet) { decoded += 1; for i in 0..<bye.sourceCount { _ = bye.ssrc(i) }; _ = bye.reason }
                if let nack = RTCPGenericNACK.parse(packet) { decoded += 1; for _ in nack.lostSequenceNumbers {} }
                if let twcc = RTCPTransportWideFeedback.parse(packet) {
                    decoded += 1
                    #expect(twcc.statuses.count == Int(twcc.packetStatusCount))
                }
                if RTCPPictureLossIndication.parse(packet) != nil { decoded += 1 }
                if let fir = RTCPFullIntraRequest.parse(packet) { decoded += 1; for i in 0..<fir.entryCount { _ = fir.entry(i) } }
                if let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet) { decoded += 1; for i in 0..<remb.ssrcCount { _ = remb.ssrc(i) } }
            }
        }
        #expect(decoded > 20)
    }
}
