import COpenSSL
import Testing
@testable import MediaCore
import SabhaTestSupport

/// RFC 5769 test vectors (section 2), as printed in the RFC.
enum RFC5769 {
    static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
    static let transactionID = STUNTransactionID(0xB7E7_A701, 0xBC34_D686, 0xFA87_DFAE)

    /// 2.1 Sample Request.
    static let request = hexBytes("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)

    /// 2.2 Sample IPv4 Response.
    static let ipv4Response = hexBytes("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)

    /// 2.3 Sample IPv6 Response.
    static let ipv6Response = hexBytes("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)

    /// 2.4 Sample Request with Long-Term Authentication.
    static let longTermRequest = hexBytes("""
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
        """)
}

struct STUNMessageTests {
    private func parse(_ bytes: [UInt8]) -> STUNMessage? {
        bytes.withUnsafeBytes { STUNMessage.parse($0) }
    }

    @Test func rfc5769SampleRequestParsesAndVerifies() throws {
        let bytes = RFC5769.request
        let message = try #require(parse(bytes))
        #expect(message.messageClass == .request)
        #expect(message.method == STUNMessage.bindingMethod)
        #expect(message.isBindingRequest)
        #expect(message.transactionID == RFC5769.transactionID)
        #expect(message.software == "STUN test client")
        #expect(message.priority == 0x6E00_01FF)
        #expect(message.iceControlled == 0x932F_F9B1_5126_3B36)
        #expect(message.iceControlling == nil)
        #expect(message.useCandidate == false)
        #expect(message.username == "evtj:h6vY")
        #expect(message.messageIntegrityOffset == 76)
        #expect(message.fingerprintOffset == 100)
        #expect(message.unknownRequiredAttributes.isEmpty)
        bytes.withUnsafeBytes { raw in
            #expect(message.verifyMessageIntegrity(in: raw, key: RFC5769.password))
            #expect(!message.verifyMessageIntegrity(in: raw, key: Array("VOkJxbRl1RmTxUk/WvJxBT".utf8)))
            #expect(message.verifyFingerprint(in: raw))
        }
    }

    @Test func rfc5769IPv4ResponseCarriesXorMappedAddress() throws {
        let bytes = RFC5769.ipv4Response
        let message = try #require(parse(bytes))
        #expect(message.messageClass == .successResponse)
        #expect(message.method == 1)
        #expect(message.software == "test vector")
        #expect(message.xorMappedAddress == TransportAddress(ip: "192.0.2.1", port: 32853))
        bytes.withUnsafeBytes { raw in
            #expect(message.verifyMessageIntegrity(in: raw, key: RFC5769.password))
            #expect(message.verifyFingerprint(in: raw))
        }
    }

    @Test func rfc5769IPv6ResponseCarriesXorMappedAddress() throws {
        let bytes = RFC5769.ipv6Response
        let message = try #require(parse(bytes))
        #expect(message.messageClass == .successResponse)
        let address = try #require(message.xorMappedAddress)
        #expect(address == TransportAddress(ip: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        #expect(address.ipString == "2001:db8:1234:5678:11:2233:4455:6677")
        bytes.withUnsafeBytes { raw in
            #expect(message.verifyMessageIntegrity(in: raw, key: RFC5769.password))
            #expect(message.verifyFingerprint(in: raw))
        }
    }

    @Test func rfc5769LongTermRequestParsesAndVerifiesWithMD5Key() throws {
        let bytes = RFC5769.longTermRequest
        let message = try #require(parse(bytes))
        #expect(message.messageClass == .request)
        #expect(message.username == "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}")
        #expect(message.nonce == "f//499k954d6OL34oL9FSTvy64sA")
        #expect(message.realm == "example.org")
        #expect(message.fingerprintOffset == nil)
        // Long-term key (RFC 5389 section 15.4): MD5(username ":" realm ":" SASLprep(password)).
        let input = Array("\(message.username!):example.org:TheMatrIX".utf8)
        var key = [UInt8](repeating: 0, count: 16)
        var keyLength: UInt32 = 0
        #expect(EVP_Digest(input, input.count, &key, &keyLength, EVP_md5(), nil) == 1)
        bytes.withUnsafeBytes { raw in
            #expect(message.verifyMessageIntegrity(in: raw, key: key))
            #expect(!message.verifyFingerprint(in: raw))
        }
    }

    @Test func flippedByteFailsFingerprintAndIntegrity() throws {
        for index in 20..<RFC5769.request.count - 4 {
            var bytes = RFC5769.request
            bytes[index] ^= 0x01
            guard let message = parse(bytes) else { continue }  // some flips break the framing
            bytes.withUnsafeBytes { raw in
                #expect(!message.verifyFingerprint(in: raw), "flip at \(index)")
            }
        }
        var bytes = RFC5769.request
        bytes[45] ^= 0x40  // inside PRIORITY: framing intact
        let message = try #require(parse(bytes))
        bytes.withUnsafeBytes { raw in
            #expect(!message.verifyMessageIntegrity(in: raw, key: RFC5769.password))
            #expect(!message.verifyFingerprint(in: raw))
        }
    }

    @Test func rejectsMalformedFraming() {
        var bad = RFC5769.request
        bad[4] = 0x22  // magic cookie
        #expect(parse(bad) == nil)
        bad = RFC5769.request
        bad[0] |= 0x80  // top bits
        #expect(parse(bad) == nil)
        bad = RFC5769.request
        bad[3] = 0x5A  // length not a multiple of 4
        #expect(parse(bad) == nil)
        bad = RFC5769.request
        bad[3] = 0x54  // length shorter than the datagram
        #expect(parse(bad) == nil)
        #expect(parse(RFC5769.request + [0, 0, 0, 0]) == nil)  // datagram longer than the message
        bad = RFC5769.request
        bad[23] = 0x40  // SOFTWARE length runs past the end
        #expect(parse(bad) == nil)
        bad = RFC5769.request
        bad[43] = 0x05  // PRIORITY of the wrong size
        #expect(parse(bad) == nil)
    }

    @Test func collectsUnknownComprehensionRequiredAttributes() throws {
        var buffer = [UInt8](repeating: 0, count: 200)
        let length = buffer.withUnsafeMutableBytes {
            STUNMessage.writeBindingError(transactionID: RFC5769.transactionID, code: 400, reason: "x", into: $0)
        }
        var bytes = Array(buffer[0..<length])
        // Replace ERROR-CODE's type by an unknown required one (0x7777) and one optional (0xC057).
        bytes[20] = 0x77; bytes[21] = 0x77
        let message = try #require(parse(bytes))
        #expect(message.unknownRequiredAttributes == [0x7777])
        bytes[20] = 0xC0; bytes[21] = 0x57
        #expect(parse(bytes)?.unknownRequiredAttributes == [])
    }

    @Test func writtenBindingRequestParsesAndVerifies() throws {
        let id = STUNTransactionID.random()
        let key = Array("remote-password-0123456789".utf8)
        var buffer = [UInt8](repeating: 0xEE, count: 1500)
        let length = buffer.withUnsafeMutableBytes {
            STUNMessage.writeBindingRequest(
                transactionID: id, username: "srvUfrag:cliUfr", integrityKey: key, priority: 0x6E7F_1EFF,
                useCandidate: true, iceControlling: 0x1122_3344_5566_7788, iceControlled: nil, into: $0)
        }
        #expect(length == 20 + 20 + 8 + 4 + 12 + 24 + 8)
        let bytes = Array(buffer[0..<length])
        let message = try #require(parse(bytes))
        #expect(message.isBindingRequest)
        #expect(message.transactionID == id)
        #expect(message.username == "srvUfrag:cliUfr")
        #expect(message.priority == 0x6E7F_1EFF)
        #expect(message.useCandidate)
        #expect(message.iceControlling == 0x1122_3344_5566_7788)
        #expect(message.iceControlled == nil)
        bytes.withUnsafeBytes { raw in
            #expect(message.verifyMessageIntegrity(in: raw, key: key))
            #expect(!message.verifyMessageIntegrity(in: raw, key: Array("wrong".utf8)))
            #expect(message.verifyFingerprint(in: raw))
        }
        var flipped = bytes
        flipped[30] ^= 0x01  // inside USERNAME
        let reparsed = try #require(parse(flipped))
        flipped.withUnsafeBytes { raw in
            #expect(!reparsed.verifyFingerprint(in: raw))
            #expect(!reparsed.verifyMessageIntegrity(in: raw, key: key))
        }
    }

    @Test func writtenBindingSuccessMatchesRFC5769Layout() throws {
        for text in ["192.0.2.1", "2001:db8:1234:5678:11:2233:4455:6677"] {
            let mapped = try #require(TransportAddress(ip: text, port: 32853))
            var buffer = [UInt8](repeating: 0, count: 128)
            let length = buffer.withUnsafeMutableBytes {
                STUNMessage.writeBindingSuccess(
                    transactionID: RFC5769.transactionID, mappedAddress: mapped, integrityKey: RFC5769.password, into: $0)
            }
            let bytes = Array(buffer[0..<length])
            let message = try #require(parse(bytes))
            #expect(message.messageClass == .successResponse)
            #expect(message.xorMappedAddress == mapped)
            bytes.withUnsafeBytes { raw in
                #expect(message.verifyMessageIntegrity(in: raw, key: RFC5769.password))
                #expect(message.verifyFingerprint(in: raw))
            }
            // The XOR-MAPPED-ADDRESS attribute is byte for byte the one of the RFC vector.
            let vector = mapped.isIPv4 ? RFC5769.ipv4Response : RFC5769.ipv6Response
            let attributeLength = mapped.isIPv4 ? 12 : 24
            #expect(bytes[20..<(20 + attributeLength)] == vector[36..<(36 + attributeLength)])
        }
    }

    @Test func writtenErrorResponseCarriesCode() throws {
        for (code, reason, key) in [(UInt16(401), "Unauthorized", [UInt8]?.none), (487, "Role Conflict", RFC5769.password), (400, "Bad Request", nil)] {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = buffer.withUnsafeMutableBytes {
                STUNMessage.writeBindingError(transactionID: RFC5769.transactionID, code: code, reason: reason, integrityKey: key, into: $0)
            }
            let bytes = Array(buffer[0..<length])
            let message = try #require(parse(bytes))
            #expect(message.messageClass == .errorResponse)
            #expect(message.method == 1)
            #expect(message.errorCode == STUNMessage.ErrorCode(code: code, reason: reason))
            #expect((message.messageIntegrityOffset != nil) == (key != nil))
            bytes.withUnsafeBytes { raw in
                #expect(message.verifyFingerprint(in: raw))
                if let key { #expect(message.verifyMessageIntegrity(in: raw, key: key)) }
            }
        }
    }

    @Test func writersRefuseTooSmallBuffers() throws {
        let mapped = try #require(TransportAddress(ip: "127.0.0.1", port: 1))
        var small = [UInt8](repeating: 0, count: 63)
        small.withUnsafeMutableBytes { buffer in
            #expect(STUNMessage.writeBindingSuccess(transactionID: RFC5769.transactionID, mappedAddress: mapped, integrityKey: [1], into: buffer) == 0)
            #expect(STUNMessage.writeBindingRequest(transactionID: RFC5769.transactionID, username: "a:b", integrityKey: [1], priority: 1, useCandidate: false, iceControlling: nil, iceControlled: nil, into: buffer) == 0)
        }
        var exact = [UInt8](repeating: 0, count: 64)
        let length = exact.withUnsafeMutableBytes {
            STUNMessage.writeBindingSuccess(transactionID: RFC5769.transactionID, mappedAddress: mapped, integrityKey: [1], into: $0)
        }
        #expect(length == 64)
    }

    @Test func messageTypeEncodingMatchesRFC() {
        #expect(STUNMessage.messageType(method: 1, class: .request) == 0x0001)
        #expect(STUNMessage.messageType(method: 1, class: .indication) == 0x0011)
        #expect(STUNMessage.messageType(method: 1, class: .successResponse) == 0x0101)
        #expect(STUNMessage.messageType(method: 1, class: .errorResponse) == 0x0111)
        #expect(STUNMessage.messageType(method: 0x003, class: .request) == 0x0003)  // TURN Allocate
    }

    @Test func crc32MatchesCheckValue() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
    }

    @Test func survivesRandomAndTruncatedInput() {
        let samples = [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response, RFC5769.longTermRequest]
        var parsed = 0
        fuzz(seed: 0x5354_554E, samples: samples) { raw in
            if let message = STUNMessage.parse(raw) {
                parsed += 1
                _ = message.verifyFingerprint(in: raw)
                _ = message.verifyMessageIntegrity(in: raw, key: RFC5769.password)
            }
        }
        #expect(parsed > 4)  // the whole samples at least
    }
}
