import Testing
@testable import MediaCore

struct PacketDemuxTests {
    private func classify(_ bytes: [UInt8]) -> PacketClass {
        bytes.withUnsafeBytes { PacketClass.classify($0) }
    }

    @Test func firstByteRangesOfRFC7983() {
        #expect(classify([0x00, 0x01]) == .stun)
        #expect(classify([0x01, 0x01]) == .stun)
        #expect(classify([0x03]) == .stun)
        #expect(classify([0x04]) == .unknown)
        #expect(classify([16]) == .zrtp)
        #expect(classify([19]) == .zrtp)
        #expect(classify([20]) == .dtls)
        #expect(classify([22, 0xFE, 0xFD]) == .dtls)
        #expect(classify([0x2F]) == .dtls)  // DTLS 1.3 unified header
        #expect(classify([63]) == .dtls)
        #expect(classify([64]) == .turnChannel)
        #expect(classify([79]) == .turnChannel)
        #expect(classify([80]) == .unknown)
        #expect(classify([127, 0]) == .unknown)
        #expect(classify([192, 0]) == .unknown)
        #expect(classify([]) == .unknown)
    }

    @Test func rtcpPacketTypesAreSplitFromRTPPayloadTypes() {
        #expect(classify([0x80, 96]) == .rtp)
        #expect(classify([0x80, 96 | 0x80]) == .rtp)  // marker + PT 96
        #expect(classify([0x80, 111]) == .rtp)
        #expect(classify([0x80, 200]) == .rtcp)  // SR
        #expect(classify([0x81, 201]) == .rtcp)  // RR
        #expect(classify([0x8F, 205]) == .rtcp)  // TWCC
        #expect(classify([0x80, 192]) == .rtcp)
        #expect(classify([0x80, 223]) == .rtcp)
        #expect(classify([0x80, 224]) == .rtp)
        #expect(classify([0x80, 191]) == .rtp)
        #expect(classify([0x80]) == .unknown)
    }
}
