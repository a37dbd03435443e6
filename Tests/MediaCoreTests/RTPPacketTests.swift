import Testing
@testable import MediaCore
import SabhaTestSupport

struct RTPPacketTests {
    /// V=2, X=1, CC=1, M=1 PT=96, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344, CSRC 0x55667788,
    /// one-byte extension block (RFC 8285 4.2): id 1 len 1 [0xAA], padding 0, id 3 len 3, id 2 len 2, pad.
    static let oneByte: [UInt8] = [
        0x91, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,
        0x55, 0x66, 0x77, 0x88,
        0xBE, 0xDE, 0x00, 0x03,
        0x10, 0xAA, 0x00, 0x32, 0x01, 0x02, 0x03, 0x21, 0xB1, 0xB2, 0x00, 0x00,
        0xC0, 0xC1, 0xC2, 0xC3, 0xC4,  // payload
    ]

    /// Two-byte form (RFC 8285 4.3), profile 0x1000: id 1 len 0, padding, id 200 len 3, id 5 len 1.
    static let twoByte: [UInt8] = [
        0x90, 0x60, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0xCA, 0xFE, 0xBA, 0xBE,
        0x10, 0x00, 0x00, 0x03,
        0x01, 0x00, 0x00, 0xC8, 0x03, 0xD1, 0xD2, 0xD3, 0x05, 0x01, 0xE1, 0x00,
        0xF0,
    ]

    private func parse(_ bytes: [UInt8]) -> RTPHeader? { bytes.withUnsafeBytes { RTPHeader.parse($0) } }

    @Test func parsesFixedHeaderCSRCAndOneByteExtensions() throws {
        let bytes = Self.oneByte
        let header = try #require(parse(bytes))
        #expect(header.version == 2)
        #expect(!header.padding)
        #expect(header.marker)
        #expect(header.payloadType == 96)
        #expect(header.sequenceNumber == 0x1234)
        #expect(header.timestamp == 0xDEAD_BEEF)
        #expect(header.ssrc == 0x1122_3344)
        #expect(header.csrcCount == 1)
        #expect(header.usesOneByteExtensions)
        #expect(header.extensionOffset == 20)
        #expect(header.extensionLength == 12)
        #expect(header.headerLength == 32)
        #expect(header.payloadLength == 5)
        bytes.withUnsafeBytes { raw in
            #expect(header.csrc(0, in: raw) == 0x5566_7788)
            #expect(header.extensionElement(id: 1, in: raw)! == (21, 1))
            #expect(header.extensionElement(id: 3, in: raw)! == (24, 3))
            #expect(header.extensionElement(id: 2, in: raw)! == (28, 2))
            #expect(header.extensionElement(id: 4, in: raw) == nil)
            #expect(header.extensionElement(id: 15, in: raw) == nil)
            #expect(header.extensionElement(id: 0, in: raw) == nil)
        }
    }

    @Test func oneByteIDFifteenStopsParsing() throws {
        var bytes = Self.oneByte
        bytes[23] = 0xF2  // id 15 before id 3
        let header = try #require(parse(bytes))
        bytes.withUnsafeBytes { raw in
            #expect(header.extensionElement(id: 1, in: raw) != nil)
            #expect(header.extensionElement(id: 3, in: raw) == nil)
            #expect(header.extensionElement(id: 2, in: raw) == nil)
        }
    }

    @Test func oneByteElementOverrunningTheBlockIsNotReturned() throws {
        var bytes = Self.oneByte
        bytes[27] = 0x2F  // id 2 claims 16 bytes
        let header = try #require(parse(bytes))
        bytes.withUnsafeBytes { #expect(header.extensionElement(id: 2, in: $0) == nil) }
    }

    @Test func parsesTwoByteExtensionsWithZeroLengthElements() throws {
        let bytes = Self.twoByte
        let header = try #require(parse(bytes))
        #expect(header.usesTwoByteExtensions)
        #expect(!header.usesOneByteExtensions)
        #expect(header.headerLength == 28)
        #expect(header.payloadLength == 1)
        bytes.withUnsafeBytes { raw in
            #expect(header.extensionElement(id: 1, in: raw)! == (18, 0))
            #expect(header.extensionElement(id: 200, in: raw)! == (21, 3))
            #expect(header.extensionElement(id: 5, in: raw)! == (26, 1))
            #expect(header.extensionElement(id: 6, in: raw) == nil)
        }
    }

    @Test func paddingIsExcludedAndInvalidPaddingRejected() throws {
        var bytes: [UInt8] = [0xA0, 0x6F, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0, 0, 3]
        let header = try #require(parse(bytes))
        #expect(header.padding)
        #expect(header.paddingLength == 3)
        #expect(header.payloadLength == 3)
        bytes[17] = 0
        #expect(parse(bytes) == nil)  // padding count 0
        bytes[17] = 7
        #expect(parse(bytes) == nil)  // more padding than payload
        bytes[17] = 6
        #expect(parse(bytes)?.payloadLength == 0)
    }

    @Test func rejectsOtherVersionsAndShortPackets() {
        var bytes = Self.oneByte
        bytes[0] = 0x51
        #expect(parse(bytes) == nil)
        #expect(parse(Array(Self.oneByte[0..<11])) == nil)
        #expect(parse(Array(Self.oneByte[0..<31])) == nil)  // extension block cut
        #expect(parse(Array(Self.oneByte[0..<32]))?.payloadLength == 0)
    }

    @Test func writerRoundTripsThroughParser() throws {
        var elements = [UInt8](repeating: 0, count: 16)
        var used = 0
        let mid: [UInt8] = Array("1".utf8)
        let level: [UInt8] = [0x85]
        let twcc: [UInt8] = [0x01, 0x02]
        elements.withUnsafeMutableBytes { out in
            used += mid.withUnsafeBytes { RTPHeader.encodeOneByteElement(id: 4, data: $0, into: out, at: used) }
            used += level.withUnsafeBytes { RTPHeader.encodeOneByteElement(id: 1, data: $0, into: out, at: used) }
            used += twcc.withUnsafeBytes { RTPHeader.encodeOneByteElement(id: 3, data: $0, into: out, at: used) }
        }
        #expect(used == 7)
        let rejected = elements.withUnsafeMutableBytes { out in
            level.withUnsafeBytes { RTPHeader.encodeOneByteElement(id: 15, data: $0, into: out, at: 0) }
        }
        #expect(rejected == 0)
        var packet = [UInt8](repeating: 0xEE, count: 64)
        let headerLength = packet.withUnsafeMutableBytes { out in
            elements.withUnsafeBytes { ext in
                RTPHeader.write(marker: true, payloadType: 111, sequenceNumber: 65535, timestamp: 960,
                                ssrc: 0xAABB_CCDD, oneByteExtensions: UnsafeRawBufferPointer(rebasing: ext[0..<used]), into: out)
            }
        }
        #expect(headerLength == 12 + 4 + 8)
        let bytes = Array(packet[0..<(headerLength + 10)])
        let header = try #require(parse(bytes))
        #expect(header.marker && header.payloadType == 111 && header.sequenceNumber == 65535)
        #expect(header.timestamp == 960 && header.ssrc == 0xAABB_CCDD)
        #expect(header.headerLength == headerLength && header.payloadLength == 10)
        bytes.withUnsafeBytes { raw in
            let found = header.extensionElement(id: 1, in: raw)!
            #expect(found.length == 1 && raw[found.offset] == 0x85)
            let seq = header.extensionElement(id: 3, in: raw)!
            #expect(seq.length == 2 && raw.u16(seq.offset) == 0x0102)
            #expect(header.extensionElement(id: 4, in: raw)!.length == 1)
        }
        // Without extensions the header is 12 bytes.
        let plain = packet.withUnsafeMutableBytes {
            RTPHeader.write(marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, into: $0)
        }
        #expect(plain == 12)
        #expect(packet[0] == 0x80)
    }

    @Test func inPlaceSettersRewriteFields() throws {
        var bytes = Self.oneByte
        bytes.withUnsafeMutableBytes { raw in
            RTPHeader.setSequenceNumber(0xFFFE, in: raw.baseAddress!)
            RTPHeader.setTimestamp(0x0102_0304, in: raw.baseAddress!)
            RTPHeader.setSSRC(0x0A0B_0C0D, in: raw.baseAddress!)
            RTPHeader.setPayloadType(100, in: raw.baseAddress!)
        }
        let header = try #require(parse(bytes))
        #expect(header.sequenceNumber == 0xFFFE && header.timestamp == 0x0102_0304 && header.ssrc == 0x0A0B_0C0D)
        #expect(header.payloadType == 100 && header.marker)
        bytes.withUnsafeMutableBytes { RTPHeader.setMarker(false, in: $0.baseAddress!) }
        #expect(parse(bytes)?.marker == false)
        #expect(parse(bytes)?.payloadType == 100)
    }

    @Test func survivesRandomAndTruncatedInput() {
        var parsed = 0
        fuzz(seed: 0x5254_5000, samples: [Self.oneByte, Self.twoByte]) { raw in
            guard let header = RTPHeader.parse(raw) else { return }
            parsed += 1
            #expect(header.headerLength + header.payloadLength + header.paddingLength == raw.count)
            for id in UInt8(0)...255 {
                if let element = header.extensionElement(id: id, in: raw) {
                    #expect(element.offset + element.length <= header.headerLength)
                }
            }
        }
        #expect(parsed > 2)
    }
}

struct VP8PayloadDescriptorTests {
    private func parse(_ bytes: [UInt8]) -> VP8PayloadDescriptor? {
        bytes.withUnsafeBytes { VP8PayloadDescriptor.parse($0) }
    }

    @Test func parsesAllExtensionFieldsWith15BitPictureID() throws {
        // X=1 S=1 PID=0 | I L T K | M=1 PictureID 0x1234 | TL0PICIDX 7 | TID=2 Y=1 KEYIDX=5 | VP8 header P=0
        let bytes: [UInt8] = [0x90, 0xF0, 0x92, 0x34, 0x07, 0xA5, 0x10, 0x02, 0x00]
        let d = try #require(parse(bytes))
        #expect(d.extended && d.startOfPartition && !d.nonReference && d.partitionIndex == 0)
        #expect(d.pictureID == 0x1234 && d.pictureIDIs15Bit && d.pictureIDOffset == 2)
        #expect(d.tl0PicIdx == 7 && d.tl0PicIdxOffset == 4)
        #expect(d.temporalLayerID == 2 && d.layerSync && d.keyIndex == 5)
        #expect(d.descriptorLength == 6)
        #expect(d.isKeyframeStart)
    }

    @Test func sevenBitPictureIDAndInterFrame() throws {
        // X=1 N=1 S=1 | I only | PictureID 0x55 | VP8 header P=1 (inter frame)
        let d = try #require(parse([0xB0, 0x80, 0x55, 0x31]))
        #expect(d.nonReference)
        #expect(d.pictureID == 0x55 && !d.pictureIDIs15Bit)
        #expect(d.tl0PicIdx == nil && d.temporalLayerID == nil && d.keyIndex == nil)
        #expect(d.descriptorLength == 3)
        #expect(!d.isKeyframeStart)
    }

    @Test func keyframeNeedsStartOfFirstPartition() throws {
        #expect(try #require(parse([0x10, 0x00])).isKeyframeStart)  // no X, S=1, PID=0, P=0
        #expect(try #require(parse([0x00, 0x00])).isKeyframeStart == false)  // S=0
        #expect(try #require(parse([0x11, 0x00])).isKeyframeStart == false)  // PID=1
        #expect(try #require(parse([0x10])).isKeyframeStart == false)  // no VP8 header byte
        // Only K (KEYIDX) without T.
        let k = try #require(parse([0x80, 0x10, 0x1F, 0x00]))
        #expect(k.keyIndex == 31 && k.temporalLayerID == nil && k.descriptorLength == 3)
    }

    @Test func truncatedDescriptorsAreRejected() {
        let full: [UInt8] = [0x90, 0xF0, 0x92, 0x34, 0x07, 0xA5]
        for length in 0..<full.count {
            #expect(parse(Array(full[0..<length])) == nil, "length \(length)")
        }
        #expect(parse(full) != nil)
    }

    @Test func survivesRandomAndTruncatedInput() {
        fuzz(seed: 0x5650_3800, samples: [[0x90, 0xF0, 0x92, 0x34, 0x07, 0xA5, 0x10]]) { raw in
            if let d = VP8PayloadDescriptor.parse(raw) { #expect(d.descriptorLength <= raw.count) }
        }
    }
}
