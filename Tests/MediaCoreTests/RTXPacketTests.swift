import Testing
@testable import MediaCore
import SabhaTestSupport

struct RTXPacketTests {
    /// Original media packets: plain; with CSRC and one-byte extensions (from RTPPacketTests);
    /// with padding; with the two-byte extension form.
    static let plain: [UInt8] = [
        0x80, 0x60, 0xAB, 0xCD, 0x00, 0x01, 0x02, 0x03, 0x11, 0x22, 0x33, 0x44,
        0x01, 0x02, 0x03, 0x04, 0x05,
    ]
    static let withExtensionsAndCSRC = RTPPacketTests.oneByte
    /// P bit, 3 bytes of payload then 4 bytes of padding.
    static let padded: [UInt8] = [
        0xA0, 0xE0, 0xFF, 0xFF, 0x00, 0x00, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04,
        0xAA, 0xBB, 0xCC,
        0x00, 0x00, 0x00, 0x04,
    ]
    static let twoByte = RTPPacketTests.twoByte

    static let originals: [[UInt8]] = [plain, withExtensionsAndCSRC, padded, twoByte]

    static let rtxPT: UInt8 = 97
    static let rtxSSRC: UInt32 = 0xFEED_F00D

    private func wrap(_ original: [UInt8], rtxSequence: UInt16 = 7, capacity: Int = 1500) -> [UInt8] {
        let header = original.withUnsafeBytes { RTPHeader.parse($0) }!
        var out = [UInt8](repeating: 0xEE, count: capacity)
        let length = original.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                RTXPacket.wrap(original: src, header: header, rtxPayloadType: Self.rtxPT, rtxSSRC: Self.rtxSSRC,
                               rtxSequence: rtxSequence, into: dst.baseAddress!, capacity: capacity)
            }
        }
        return Array(out[0..<length])
    }

    private func unwrap(_ rtx: [UInt8], mediaPT: UInt8, mediaSSRC: UInt32, length: Int? = nil) -> [UInt8]? {
        var bytes = rtx
        guard let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) else { return nil }
        let restored = bytes.withUnsafeMutableBytes {
            RTXPacket.unwrap($0.baseAddress!, length: length ?? rtx.count, header: header,
                             mediaPayloadType: mediaPT, mediaSSRC: mediaSSRC)
        }
        return restored.map { Array(bytes[0..<$0]) }
    }

    /// The original as the unwrapped copy should look: padding removed and the P bit cleared.
    private func withoutPadding(_ original: [UInt8]) -> [UInt8] {
        let header = original.withUnsafeBytes { RTPHeader.parse($0) }!
        var bytes = Array(original[0..<(header.headerLength + header.payloadLength)])
        bytes[0] &= ~0x20
        return bytes
    }

    @Test(arguments: originals)
    func wrapWritesHeaderThenOriginalSequenceNumberThenPayload(original: [UInt8]) throws {
        let media = try #require(original.withUnsafeBytes { RTPHeader.parse($0) })
        let rtx = wrap(original, rtxSequence: 0x0102)
        let header = try #require(rtx.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(header.payloadType == Self.rtxPT)
        #expect(header.ssrc == Self.rtxSSRC)
        #expect(header.sequenceNumber == 0x0102)
        #expect(header.marker == media.marker)
        #expect(header.timestamp == media.timestamp)
        #expect(header.csrcCount == media.csrcCount)
        #expect(header.extensionProfile == media.extensionProfile)
        #expect(!header.padding)
        #expect(header.headerLength == media.headerLength)
        #expect(header.payloadLength == media.payloadLength + 2)
        // Extensions and CSRCs are copied verbatim.
        #expect(rtx[12..<media.headerLength] == original[12..<media.headerLength])
        let osn = UInt16(rtx[media.headerLength]) << 8 | UInt16(rtx[media.headerLength + 1])
        #expect(osn == media.sequenceNumber)
        #expect(rtx[(media.headerLength + 2)...] ==
                original[media.headerLength..<(media.headerLength + media.payloadLength)])
    }

    @Test(arguments: originals)
    func unwrapRestoresTheOriginalByteForByte(original: [UInt8]) throws {
        let media = try #require(original.withUnsafeBytes { RTPHeader.parse($0) })
        let rtx = wrap(original)
        let restored = try #require(unwrap(rtx, mediaPT: media.payloadType, mediaSSRC: media.ssrc))
        #expect(restored == withoutPadding(original))
    }

    @Test func unwrapDropsTheRTXPacketsOwnPadding() throws {
        let media = try #require(Self.plain.withUnsafeBytes { RTPHeader.parse($0) })
        var rtx = wrap(Self.plain)
        rtx[0] |= 0x20
        rtx += [0, 0, 0, 0, 0, 6]
        let restored = try #require(unwrap(rtx, mediaPT: media.payloadType, mediaSSRC: media.ssrc))
        #expect(restored == Self.plain)
    }

    @Test func wrapRefusesWhenTheOutputDoesNotFit() {
        let needed = Self.plain.count + 2
        #expect(wrap(Self.plain, capacity: needed).count == needed)
        #expect(wrap(Self.plain, capacity: needed - 1).isEmpty)
    }

    @Test func wrapRefusesAnOriginalShorterThanItsHeaderSays() {
        let header = Self.plain.withUnsafeBytes { RTPHeader.parse($0) }!
        var out = [UInt8](repeating: 0, count: 100)
        let length = Self.plain.dropLast().withUnsafeBytes { src in
            out.withUnsafeMutableBytes {
                RTXPacket.wrap(original: src, header: header, rtxPayloadType: 97, rtxSSRC: 1,
                               rtxSequence: 1, into: $0.baseAddress!, capacity: 100)
            }
        }
        #expect(length == 0)
    }

    @Test func unwrapRejectsPayloadsShorterThanTheOriginalSequenceNumber() {
        // Header only, then header + 1 byte.
        let headerOnly = Array(Self.plain[0..<12])
        #expect(unwrap(headerOnly, mediaPT: 96, mediaSSRC: 1) == nil)
        #expect(unwrap(headerOnly + [0xAB], mediaPT: 96, mediaSSRC: 1) == nil)
        #expect(unwrap(headerOnly + [0xAB, 0xCD], mediaPT: 96, mediaSSRC: 1) == headerOnly.replacing(seq: 0xABCD, pt: 96, ssrc: 1))
    }

    @Test func unwrapRejectsALengthShorterThanTheParsedHeader() {
        let rtx = wrap(Self.withExtensionsAndCSRC)
        #expect(unwrap(rtx, mediaPT: 96, mediaSSRC: 1, length: rtx.count - 1) == nil)
    }

    @Test func everyTruncatedRTXPacketIsRejectedOrParsesShorter() {
        // A prefix either fails RTPHeader.parse or is a shorter but self-consistent packet;
        // unwrap must never read past it.
        let rtx = wrap(Self.withExtensionsAndCSRC)
        for length in 0..<rtx.count {
            let prefix = Array(rtx[0..<length])
            if let restored = unwrap(prefix, mediaPT: 96, mediaSSRC: 1) {
                #expect(restored.count == length - 2)
            }
        }
    }

    @Test func paddingOnlyRTXPacketIsAProbeNotARepair() throws {
        var buffer = [UInt8](repeating: 0, count: 300)
        let length = buffer.withUnsafeMutableBytes {
            RTXPacket.writePadding(payloadType: 97, ssrc: 5, sequenceNumber: 9, timestamp: 1, paddingLength: 200, into: $0)
        }
        #expect(unwrap(Array(buffer[0..<length]), mediaPT: 96, mediaSSRC: 1) == nil)
    }

    @Test(arguments: [1, 2, 17, 200, 255])
    func paddingPacketParsesWithAnEmptyPayload(paddingLength: Int) throws {
        var buffer = [UInt8](repeating: 0xEE, count: 400)
        let length = buffer.withUnsafeMutableBytes {
            RTXPacket.writePadding(payloadType: 97, ssrc: 0xABCD_EF01, sequenceNumber: 65_535, timestamp: 0x1234_5678,
                                   paddingLength: paddingLength, into: $0)
        }
        #expect(length == 12 + paddingLength)
        let packet = Array(buffer[0..<length])
        let header = try #require(packet.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(header.padding)
        #expect(!header.marker)
        #expect(!header.hasExtension)
        #expect(header.payloadType == 97)
        #expect(header.ssrc == 0xABCD_EF01)
        #expect(header.sequenceNumber == 65_535)
        #expect(header.timestamp == 0x1234_5678)
        #expect(header.payloadLength == 0)
        #expect(header.paddingLength == paddingLength)
        #expect(packet.last == UInt8(paddingLength))
    }

    @Test func paddingPacketCarriesATransportWideSequenceNumber() throws {
        var buffer = [UInt8](repeating: 0xEE, count: 400)
        let twcc: [UInt8] = [0x12, 0x34]
        let length = twcc.withUnsafeBytes { data in
            buffer.withUnsafeMutableBytes {
                RTXPacket.writePadding(payloadType: 97, ssrc: 1, sequenceNumber: 2, timestamp: 3, paddingLength: 255,
                                       extensionID: 5, extensionData: data, into: $0)
            }
        }
        #expect(length == 12 + 4 + 4 + 255)
        let packet = Array(buffer[0..<length])
        let header = try #require(packet.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(header.usesOneByteExtensions)
        #expect(header.payloadLength == 0)
        #expect(header.paddingLength == 255)
        let element = try #require(packet.withUnsafeBytes { header.extensionElement(id: 5, in: $0) })
        #expect(Array(packet[element.offset..<(element.offset + element.length)]) == twcc)
    }

    @Test func paddingPacketRejectsBadArguments() {
        var buffer = [UInt8](repeating: 0, count: 400)
        buffer.withUnsafeMutableBytes { out in
            #expect(RTXPacket.writePadding(payloadType: 97, ssrc: 1, sequenceNumber: 1, timestamp: 1, paddingLength: 0, into: out) == 0)
            #expect(RTXPacket.writePadding(payloadType: 97, ssrc: 1, sequenceNumber: 1, timestamp: 1, paddingLength: 256, into: out) == 0)
            #expect(RTXPacket.writePadding(payloadType: 128, ssrc: 1, sequenceNumber: 1, timestamp: 1, paddingLength: 10, into: out) == 0)
            let small = UnsafeMutableRawBufferPointer(rebasing: out[0..<(12 + 9)])
            #expect(RTXPacket.writePadding(payloadType: 97, ssrc: 1, sequenceNumber: 1, timestamp: 1, paddingLength: 10, into: small) == 0)
            let data: [UInt8] = [1]
            data.withUnsafeBytes { one in
                #expect(RTXPacket.writePadding(payloadType: 97, ssrc: 1, sequenceNumber: 1, timestamp: 1, paddingLength: 10,
                                               extensionID: 15, extensionData: one, into: out) == 0)
            }
        }
    }

    @Test func wrapThenUnwrapSurvivesRandomPackets() {
        var rng = SplitMix64(seed: 4588)
        for _ in 0..<2000 {
            let count = 12 + Int(rng.next() % 300)
            var bytes = rng.bytes(count: count)
            bytes[0] = 0x80 | (bytes[0] & 0x3F)
            guard let media = bytes.withUnsafeBytes({ RTPHeader.parse($0) }) else { continue }
            let rtx = wrap(bytes)
            #expect(unwrap(rtx, mediaPT: media.payloadType, mediaSSRC: media.ssrc) == withoutPadding(bytes))
        }
    }
}

private extension Array where Element == UInt8 {
    /// A copy with the sequence number, payload type and SSRC of an RTP header replaced.
    func replacing(seq: UInt16, pt: UInt8, ssrc: UInt32) -> [UInt8] {
        var copy = self
        copy[1] = (copy[1] & 0x80) | pt
        copy[2] = UInt8(seq >> 8)
        copy[3] = UInt8(seq & 0xFF)
        copy[8] = UInt8(ssrc >> 24)
        copy[9] = UInt8((ssrc >> 16) & 0xFF)
        copy[10] = UInt8((ssrc >> 8) & 0xFF)
        copy[11] = UInt8(ssrc & 0xFF)
        return copy
    }
}
