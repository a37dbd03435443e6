import Foundation
import Testing
@testable import MediaCore
import SabhaTestSupport

/// Parses every datagram of a real Chromium 156 call (Tests/Fixtures/pcap/README.md).
struct ChromiumCaptureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pcap")

    /// UDP payloads of a classic little-endian pcap with Ethernet framing (link type 1).
    static func udpPayloads() throws -> [[UInt8]] {
        let data = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("chromium156-loopback-call.pcap")))
        func le32(_ o: Int) -> Int { Int(data[o]) | Int(data[o + 1]) << 8 | Int(data[o + 2]) << 16 | Int(data[o + 3]) << 24 }
        #expect(le32(0) == 0xA1B2_C3D4)
        #expect(le32(20) == 1)
        var payloads: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= data.count {
            let captured = le32(offset + 8)
            let frame = Array(data[(offset + 16)..<(offset + 16 + captured)])
            offset += 16 + captured
            let etherType = Int(frame[12]) << 8 | Int(frame[13])
            var ip = 14
            let proto: UInt8
            if etherType == 0x0800 {
                proto = frame[ip + 9]
                ip += Int(frame[ip] & 0x0F) * 4
            } else if etherType == 0x86DD {
                proto = frame[ip + 6]
                ip += 40
            } else { continue }
            guard proto == 17 else { continue }
            let udpLength = Int(frame[ip + 4]) << 8 | Int(frame[ip + 5])
            payloads.append(Array(frame[(ip + 8)..<(ip + udpLength)]))
        }
        return payloads
    }

    static func icePasswords() throws -> [[UInt8]] {
        let text = try String(contentsOf: fixtures.appendingPathComponent("chromium156-loopback-call-sdp.json"), encoding: .utf8)
        var passwords = Set<String>()
        for line in text.components(separatedBy: "\\r\\n") where line.hasPrefix("a=ice-pwd:") {
            passwords.insert(String(line.dropFirst("a=ice-pwd:".count)))
        }
        return passwords.map { Array($0.utf8) }
    }

    @Test func everyDatagramIsClassifiedAndParsed() throws {
        let payloads = try Self.udpPayloads()
        let passwords = try Self.icePasswords()
        #expect(payloads.count > 300)
        #expect(passwords.count >= 2)

        var classes: [PacketClass: Int] = [:]
        var stunRequests = 0, stunResponses = 0, stunVerified = 0
        var rtp = 0, rtpParsed = 0, rtpOneByte = 0, rtpWithElements = 0
        var rtcp = 0, rtcpHeaders = 0
        for payload in payloads {
            try payload.withUnsafeBytes { raw in
                let kind = PacketClass.classify(raw)
                classes[kind, default: 0] += 1
                switch kind {
                case .stun:
                    let message = try #require(STUNMessage.parse(raw), "STUN that does not parse: \(payload)")
                    #expect(message.method == STUNMessage.bindingMethod)
                    #expect(message.verifyFingerprint(in: raw))
                    if message.messageClass == .request {
                        stunRequests += 1
                        #expect(message.username != nil && message.priority != nil)
                        #expect((message.iceControlling != nil) != (message.iceControlled != nil))
                    }
                    if message.messageClass == .successResponse {
                        stunResponses += 1
                        #expect(message.xorMappedAddress?.ipString == "127.0.0.1")
                    }
                    if passwords.contains(where: { message.verifyMessageIntegrity(in: raw, key: $0) }) { stunVerified += 1 }
                case .rtp:
                    rtp += 1
                    guard let header = RTPHeader.parse(raw) else { return }
                    rtpParsed += 1
                    if header.usesOneByteExtensions { rtpOneByte += 1 }
                    if (1...14).contains(where: { header.extensionElement(id: UInt8($0), in: raw) != nil }) { rtpWithElements += 1 }
                case .rtcp:
                    rtcp += 1
                    // SRTCP: only the first header and the sender SSRC are in the clear; the padding
                    // count byte is encrypted, so read the header with the P bit masked out.
                    var clear = Array(payload[0..<8]) + [UInt8](repeating: 0, count: payload.count - 8)
                    clear[0] &= ~0x20
                    clear.withUnsafeBytes { plain in
                        // E flag + 31-bit index and a 10-byte tag (AES_CM_128_HMAC_SHA1_80) follow the packets.
                        if let header = RTCPHeaderView.parse(UnsafeRawBufferPointer(rebasing: plain[0..<(plain.count - 14)])),
                           (200...206).contains(header.packetType) {
                            rtcpHeaders += 1
                        }
                    }
                default:
                    break
                }
            }
        }
        #expect(classes[.unknown, default: 0] == 0)
        #expect(classes[.dtls, default: 0] >= 4)
        #expect(stunRequests > 0 && stunResponses > 0)
        #expect(stunVerified == stunRequests + stunResponses)
        #expect(rtp > 100)
        #expect(rtpParsed * 100 >= rtp * 95)
        #expect(rtpOneByte * 100 >= rtpParsed * 90)
        #expect(rtpWithElements * 100 >= rtpParsed * 90)
        #expect(rtcp > 0 && rtcpHeaders == rtcp)
    }

    @Test func captureDatagramsAsFuzzSeedsDoNotTrap() throws {
        let payloads = try Self.udpPayloads()
        var rng = SplitMix64(seed: 0xC0DE)
        for payload in payloads.prefix(120) {
            for length in 0...payload.count {
                Array(payload[0..<length]).withUnsafeBytes { raw in
                    _ = STUNMessage.parse(raw)
                    _ = RTPHeader.parse(raw)
                    for _ in RTCPCompound(raw) {}
                }
            }
            var corrupted = payload
            for _ in 0..<20 {
                corrupted[Int(rng.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: rng.next())
                corrupted.withUnsafeBytes { raw in
                    if let m = STUNMessage.parse(raw) { _ = m.verifyFingerprint(in: raw) }
                    if let h = RTPHeader.parse(raw) { _ = h.extensionElement(id: 3, in: raw) }
                }
            }
        }
    }
}
