import Testing
@testable import MediaCore

struct RTPAudioLevelTests {
    /// Audio packet with a one-byte extension block: id 1 = audio level 0x9E (V, level 30),
    /// id 2 = 2 bytes of something else.
    static let packet: [UInt8] = [
        0x90, 0x6F, 0x00, 0x01, 0x00, 0x00, 0x03, 0xC0, 0x00, 0x00, 0x00, 0x07,
        0xBE, 0xDE, 0x00, 0x02,
        0x10, 0x9E, 0x21, 0xAA, 0xBB, 0x00, 0x00, 0x00,
        0xFC, 0xFF, 0xFE,
    ]

    @Test func readsLevelAndVoiceActivityFromTheExtension() throws {
        let header = try #require(Self.packet.withUnsafeBytes { RTPHeader.parse($0) })
        let level = Self.packet.withUnsafeBytes { RTPAudioLevel.read(from: $0, header: header, extensionID: 1) }
        #expect(level == RTPAudioLevel(level: 30, voiceActivity: true))
    }

    @Test func absentExtensionReadsAsNil() throws {
        let header = try #require(Self.packet.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(Self.packet.withUnsafeBytes { RTPAudioLevel.read(from: $0, header: header, extensionID: 3) } == nil)
        let plain = Array(Self.packet[0..<12]) + [0xFC]
        var bare = plain
        bare[0] = 0x80
        let bareHeader = try #require(bare.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(bare.withUnsafeBytes { RTPAudioLevel.read(from: $0, header: bareHeader, extensionID: 1) } == nil)
    }

    @Test func byteRoundTripsForEveryValue() {
        for byte in 0...255 {
            #expect(RTPAudioLevel(byte: UInt8(byte)).byte == UInt8(byte))
        }
        #expect(RTPAudioLevel(byte: 0x7F) == RTPAudioLevel(level: 127, voiceActivity: false))
        #expect(RTPAudioLevel(level: 200, voiceActivity: false).level == 200 & 0x7F)
    }

    @Test func writtenElementReadsBack() throws {
        let level = RTPAudioLevel(level: 45, voiceActivity: false)
        var element: [UInt8] = [0, 0]
        let data: [UInt8] = [level.byte]
        let written = data.withUnsafeBytes { d in
            element.withUnsafeMutableBytes { RTPHeader.encodeOneByteElement(id: 4, data: d, into: $0, at: 0) }
        }
        #expect(written == 2)
        var buffer = [UInt8](repeating: 0, count: 64)
        let headerLength = element.withUnsafeBytes { ext in
            buffer.withUnsafeMutableBytes {
                RTPHeader.write(marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                oneByteExtensions: ext, into: $0)
            }
        }
        let packet = Array(buffer[0..<(headerLength + 10)])
        let header = try #require(packet.withUnsafeBytes { RTPHeader.parse($0) })
        #expect(packet.withUnsafeBytes { RTPAudioLevel.read(from: $0, header: header, extensionID: 4) } == level)
    }
}
