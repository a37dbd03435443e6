import COpenSSL
import Testing
@testable import MediaCore
import SabhaTestSupport

// Known-answer vectors, copied byte for byte:
// - libsrtp reference packets: cisco/libsrtp test/srtp_driver.c, srtp_validate() (AES_CM_128_HMAC_SHA1_80,
//   key e1f97a0d...aabe6) and srtp_validate_gcm() (AEAD_AES_128_GCM, key 00..0f, salt a0..ab).
//   libsrtp is BSD-3-Clause (Cisco Systems).
// - RFC 7714 section 16.1.1 (SRTP) and section 17.1 (SRTCP) AEAD_AES_128_GCM: session key
//   000102030405060708090a0b0c0d0e0f, session salt "Quid pro quo". These are *session* keys (no KDF),
//   which libsrtp cannot take; the test checks an RFC 7714 reference transform (OpenSSL EVP) against
//   them, then checks SRTPSession against that transform with the RFC 3711 KDF applied.

private func hex(_ text: String) -> [UInt8] { hexBytes(text) }

/// Runs one in-place operation on a copy of `bytes` with room for the trailer; returns status and result.
private func run(_ bytes: [UInt8], _ operation: (UnsafeMutableRawPointer, inout Int) -> SRTPStatus) -> (SRTPStatus, [UInt8]) {
    var buffer = bytes + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
    var length = bytes.count
    let status = buffer.withUnsafeMutableBytes { operation($0.baseAddress!, &length) }
    return (status, Array(buffer[0..<length]))
}

private func rtpPacket(sequence: UInt16, ssrc: UInt32 = 0x1234_5678, payload: [UInt8]) -> [UInt8] {
    [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x0B, 0xB8,
     UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)] + payload
}

/// A receiver report with one report block (RFC 3550 6.4.2).
private func rtcpPacket(ssrc: UInt32 = 0x1234_5678) -> [UInt8] {
    [0x81, 201, 0x00, 0x07,
     UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
        + [UInt8](repeating: 0x42, count: 24)
}

private func sessions(_ profile: SRTPProfile, fill: UInt8 = 0x11) throws -> (out: SRTPSession, in: SRTPSession) {
    let key = [UInt8](repeating: fill, count: profile.masterKeyLength)
    let salt = [UInt8](repeating: fill ^ 0xFF, count: profile.masterSaltLength)
    return (try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound),
            try SRTPSession(profile: profile, key: key, salt: salt, direction: .inbound))
}

@Suite("SRTP session")
struct SRTPSessionTests {
    @Test("RTP survives protect then unprotect", arguments: SRTPProfile.allCases)
    func rtpRoundTrip(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        let plain = rtpPacket(sequence: 1000, payload: Array(0..<200))
        let (protectStatus, protected) = run(plain) { sender.protectRTP($0, length: &$1) }
        #expect(protectStatus == .ok)
        #expect(protected.count == plain.count + (profile == .aeadAES128GCM ? 16 : 10))
        #expect(protected.count - plain.count <= SRTPSession.maxTrailerLength)
        #expect(Array(protected[0..<12]) == Array(plain[0..<12]))
        #expect(Array(protected[12..<plain.count]) != Array(plain[12...]))
        let (unprotectStatus, result) = run(protected) { receiver.unprotectRTP($0, length: &$1) }
        #expect(unprotectStatus == .ok)
        #expect(result == plain)
    }

    @Test("RTCP survives protect then unprotect", arguments: SRTPProfile.allCases)
    func rtcpRoundTrip(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        let plain = rtcpPacket()
        let (protectStatus, protected) = run(plain) { sender.protectRTCP($0, length: &$1) }
        #expect(protectStatus == .ok)
        #expect(protected.count == plain.count + 4 + (profile == .aeadAES128GCM ? 16 : 10))
        #expect(protected.count - plain.count <= SRTPSession.maxTrailerLength)
        let (unprotectStatus, result) = run(protected) { receiver.unprotectRTCP($0, length: &$1) }
        #expect(unprotectStatus == .ok)
        #expect(result == plain)
    }

    @Test("a replayed packet is refused", arguments: SRTPProfile.allCases)
    func replayIsRefused(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        let (_, rtp) = run(rtpPacket(sequence: 7, payload: [1, 2, 3, 4])) { sender.protectRTP($0, length: &$1) }
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)

        let (_, rtcp) = run(rtcpPacket()) { sender.protectRTCP($0, length: &$1) }
        #expect(run(rtcp) { receiver.unprotectRTCP($0, length: &$1) }.0 == .ok)
        #expect(run(rtcp) { receiver.unprotectRTCP($0, length: &$1) }.0 == .replayed)
    }

    @Test("a packet older than the 1024-packet window is refused")
    func replayWindow() throws {
        let (sender, receiver) = try sessions(.aeadAES128GCM)
        let (_, old) = run(rtpPacket(sequence: 10, payload: [9])) { sender.protectRTP($0, length: &$1) }
        let (_, recent) = run(rtpPacket(sequence: 10 + 100, payload: [9])) { sender.protectRTP($0, length: &$1) }
        let (_, newest) = run(rtpPacket(sequence: 10 + 1100, payload: [9])) { sender.protectRTP($0, length: &$1) }
        #expect(run(newest) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        // 1000 back: inside our window (libsrtp's default of 128 would refuse it).
        #expect(run(recent) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        // 1100 back: outside.
        #expect(run(old) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)
    }

    @Test("the outbound session may send the same packet again (retransmission)")
    func outboundRepeatAllowed() throws {
        let (sender, _) = try sessions(.aes128CMHMACSHA1_80)
        let plain = rtpPacket(sequence: 55, payload: [7, 7, 7])
        let first = run(plain) { sender.protectRTP($0, length: &$1) }
        let again = run(plain) { sender.protectRTP($0, length: &$1) }
        #expect(first.0 == .ok && again.0 == .ok)
        #expect(first.1 == again.1)
    }

    @Test("a flipped bit in the tag fails authentication", arguments: SRTPProfile.allCases)
    func flippedTagBitFails(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        var (_, rtp) = run(rtpPacket(sequence: 3, payload: Array(repeating: 0xAA, count: 40))) { sender.protectRTP($0, length: &$1) }
        rtp[rtp.count - 1] ^= 0x01
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .authFailed)
        rtp[rtp.count - 1] ^= 0x01
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok, "a failed packet must not burn its index")

        var (_, rtcp) = run(rtcpPacket()) { sender.protectRTCP($0, length: &$1) }
        // The tag is last for AES-CM; for AEAD the E+index word follows it (RFC 7714 section 9).
        let tagByte = profile == .aeadAES128GCM ? rtcp.count - 5 : rtcp.count - 1
        rtcp[tagByte] ^= 0x80
        #expect(run(rtcp) { receiver.unprotectRTCP($0, length: &$1) }.0 == .authFailed)
    }

    @Test("keys and salts of the wrong length are refused")
    func wrongKeyLength() {
        #expect(throws: MediaError.self) {
            try SRTPSession(profile: .aeadAES128GCM, key: [UInt8](repeating: 1, count: 16), salt: [UInt8](repeating: 1, count: 14), direction: .inbound)
        }
        #expect(throws: MediaError.self) {
            try SRTPSession(profile: .aes128CMHMACSHA1_80, key: [UInt8](repeating: 1, count: 15), salt: [UInt8](repeating: 1, count: 14), direction: .outbound)
        }
    }

    @Test("sequence numbers across 65535 -> 0 still unprotect (ROC rollover)", arguments: SRTPProfile.allCases)
    func rolloverCounter(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        var sequence: UInt16 = 65530
        for step in 0..<12 {
            let plain = rtpPacket(sequence: sequence, payload: [UInt8(step), 0xEE, 0xDD])
            let (protectStatus, protected) = run(plain) { sender.protectRTP($0, length: &$1) }
            #expect(protectStatus == .ok)
            let (status, result) = run(protected) { receiver.unprotectRTP($0, length: &$1) }
            #expect(status == .ok, "sequence \(sequence)")
            #expect(result == plain)
            sequence &+= 1
        }
        #expect(sequence == 6)
    }

    @Test("libsrtp reference packet, AES_CM_128_HMAC_SHA1_80 (srtp_driver.c srtp_validate)")
    func libsrtpCMReference() throws {
        let master = hex("e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6")
        let key = Array(master[0..<16]), salt = Array(master[16...])
        let rtpPlain = hex("800f1234decafbadcafebabeabababababababababababababababab")
        let rtpCipher = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
        let rtcpPlain = hex("81c8000bcafebabeabababababababababababababababab")
        let srtcpCipher = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")

        let sender = try SRTPSession(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .outbound)
        #expect(run(rtpPlain) { sender.protectRTP($0, length: &$1) } == (.ok, rtpCipher))
        #expect(run(rtcpPlain) { sender.protectRTCP($0, length: &$1) } == (.ok, srtcpCipher))

        let receiver = try SRTPSession(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .inbound)
        #expect(run(rtpCipher) { receiver.unprotectRTP($0, length: &$1) } == (.ok, rtpPlain))
        #expect(run(srtcpCipher) { receiver.unprotectRTCP($0, length: &$1) } == (.ok, rtcpPlain))
    }

    @Test("libsrtp reference packet, AEAD_AES_128_GCM (srtp_driver.c srtp_validate_gcm)")
    func libsrtpGCMReference() throws {
        let key = hex("000102030405060708090a0b0c0d0e0f"), salt = hex("a0a1a2a3a4a5a6a7a8a9aaab")
        let rtpPlain = hex("800f1234decafbadcafebabeabababababababababababababababab")
        let rtpCipher = hex("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392")
        let rtcpPlain = hex("81c8000bcafebabeabababababababababababababababab")
        let srtcpCipher = hex("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001")

        let sender = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .outbound)
        #expect(run(rtpPlain) { sender.protectRTP($0, length: &$1) } == (.ok, rtpCipher))
        #expect(run(rtcpPlain) { sender.protectRTCP($0, length: &$1) } == (.ok, srtcpCipher))

        let receiver = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt, direction: .inbound)
        #expect(run(rtpCipher) { receiver.unprotectRTP($0, length: &$1) } == (.ok, rtpPlain))
        #expect(run(srtcpCipher) { receiver.unprotectRTCP($0, length: &$1) } == (.ok, rtcpPlain))
    }

    @Test("RFC 7714 sections 16.1.1 and 17.1: the reference transform reproduces the vectors")
    func rfc7714ReferenceTransform() throws {
        let key = hex("000102030405060708090a0b0c0d0e0f"), salt = hex("517569642070726f2071756f")
        let rtpPlain = hex("8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573")
        let srtp = hex("""
            8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833
            899d7f27beb16a9152cf765ee4390cce
            """)
        #expect(try RFC7714Reference.protectRTP(rtpPlain, key: key, salt: salt, rolloverCounter: 0) == srtp)

        let rtcpPlain = hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
        let srtcp = hex("""
            81c8000d4d617273 63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275b
            c84aa45896cf4d2fc5abf87245d9eade 800005d4
            """)
        #expect(try RFC7714Reference.protectRTCP(rtcpPlain, key: key, salt: salt, index: 0x5D4) == srtcp)
    }

    @Test("SRTPSession's AEAD_AES_128_GCM equals RFC 7714 with RFC 3711 derived session keys")
    func gcmMatchesRFC7714() throws {
        let masterKey = hex("000102030405060708090a0b0c0d0e0f"), masterSalt = hex("517569642070726f2071756f")
        let sender = try SRTPSession(profile: .aeadAES128GCM, key: masterKey, salt: masterSalt, direction: .outbound)
        // Labels: 0 SRTP key, 2 SRTP salt, 3 SRTCP key, 5 SRTCP salt (RFC 3711 4.3.2).
        let rtpKey = try RFC7714Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: 0, length: 16)
        let rtpSalt = try RFC7714Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: 2, length: 12)
        let rtcpKey = try RFC7714Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: 3, length: 16)
        let rtcpSalt = try RFC7714Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: 5, length: 12)

        let rtpPlain = hex("8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573")
        let (status, protected) = run(rtpPlain) { sender.protectRTP($0, length: &$1) }
        #expect(status == .ok)
        #expect(protected == (try RFC7714Reference.protectRTP(rtpPlain, key: rtpKey, salt: rtpSalt, rolloverCounter: 0)))

        // libsrtp numbers SRTCP packets from 1.
        let rtcpPlain = hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
        let (rtcpStatus, srtcp) = run(rtcpPlain) { sender.protectRTCP($0, length: &$1) }
        #expect(rtcpStatus == .ok)
        #expect(srtcp == (try RFC7714Reference.protectRTCP(rtcpPlain, key: rtcpKey, salt: rtcpSalt, index: 1)))
    }

    @Test("random and truncated packets never trap and never unprotect", arguments: SRTPProfile.allCases)
    func randomInput(profile: SRTPProfile) throws {
        let (sender, receiver) = try sessions(profile)
        var random = SplitMix64(seed: 0xC0FFEE)
        let (_, genuine) = run(rtpPacket(sequence: 42, payload: Array(repeating: 1, count: 60))) { sender.protectRTP($0, length: &$1) }
        for round in 0..<2000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = Array(genuine.prefix(Int(random.next() % UInt64(genuine.count))))
            }
            #expect(run(bytes) { receiver.unprotectRTP($0, length: &$1) }.0 != .ok)
            #expect(run(bytes) { receiver.unprotectRTCP($0, length: &$1) }.0 != .ok)
        }
        #expect(run(genuine) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
    }
}

/// RFC 7714 AEAD_AES_128_GCM written out with OpenSSL EVP, only to check libsrtp against the RFC.
private enum RFC7714Reference {
    struct EVPFailure: Error {}

    /// RFC 3711 section 4.3.1/4.3.3 AES-CM PRF; a 96-bit AEAD salt is first multiplied by 2^16
    /// (RFC 7714 erratum 4938).
    static func deriveSessionKey(masterKey: [UInt8], masterSalt: [UInt8], label: UInt8, length: Int) throws -> [UInt8] {
        var x = masterSalt + [UInt8](repeating: 0, count: 14 - masterSalt.count)
        x[7] ^= label                      // key_id = label || index DIV kdr (0), right-aligned
        var output: [UInt8] = []
        var counter: UInt16 = 0
        while output.count < length {
            let block = x + [UInt8(counter >> 8), UInt8(counter & 0xFF)]
            output += try aesECB(key: masterKey, block: block)
            counter += 1
        }
        return Array(output.prefix(length))
    }

    /// RFC 7714 section 8: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt, AAD = the RTP header.
    static func protectRTP(_ packet: [UInt8], key: [UInt8], salt: [UInt8], rolloverCounter: UInt32) throws -> [UInt8] {
        let header = Array(packet[0..<12])
        var iv = [0, 0] + Array(packet[8..<12]) + bigEndian(rolloverCounter) + Array(packet[2..<4])
        for i in 0..<12 { iv[i] ^= salt[i] }
        let (ciphertext, tag) = try gcm(key: key, iv: iv, aad: header, plaintext: Array(packet[12...]))
        return header + ciphertext + tag
    }

    /// RFC 7714 section 9: IV = (0x0000 || SSRC || 0x0000 || index) XOR salt,
    /// AAD = header and SSRC || E flag and index; the E+index word goes after the tag.
    static func protectRTCP(_ packet: [UInt8], key: [UInt8], salt: [UInt8], index: UInt32) throws -> [UInt8] {
        let header = Array(packet[0..<8])
        var iv = [0, 0] + Array(packet[4..<8]) + [0, 0] + bigEndian(index)
        for i in 0..<12 { iv[i] ^= salt[i] }
        let word = bigEndian(index | 0x8000_0000)
        let (ciphertext, tag) = try gcm(key: key, iv: iv, aad: header + word, plaintext: Array(packet[8...]))
        return header + ciphertext + tag + word
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func aesECB(key: [UInt8], block: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else { throw EVPFailure() }
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: 32)
        var outLength: Int32 = 0
        guard EVP_EncryptInit_ex(context, EVP_aes_128_ecb(), nil, key, nil) == 1,
              EVP_CIPHER_CTX_set_padding(context, 0) == 1,
              EVP_EncryptUpdate(context, &out, &outLength, block, Int32(block.count)) == 1 else { throw EVPFailure() }
        return Array(out.prefix(Int(outLength)))
    }

    private static func gcm(key: [UInt8], iv: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> ([UInt8], [UInt8]) {
        guard let context = EVP_CIPHER_CTX_new() else { throw EVPFailure() }
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: 16)
        var length: Int32 = 0
        var finalLength: Int32 = 0
        guard EVP_EncryptInit_ex(context, EVP_aes_128_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_IVLEN, 12, nil) == 1,
              EVP_EncryptInit_ex(context, nil, nil, key, iv) == 1,
              EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)) == 1,
              EVP_EncryptUpdate(context, &out, &length, plaintext, Int32(plaintext.count)) == 1,
              EVP_EncryptFinal_ex(context, &out[Int(length)], &finalLength) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, &tag) == 1 else { throw EVPFailure() }
        return (Array(out.prefix(Int(length + finalLength))), tag)
    }
}
