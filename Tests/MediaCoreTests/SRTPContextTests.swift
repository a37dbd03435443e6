import COpenSSL
import Testing
@testable import MediaCore
import SabhaTestSupport

// Known-answer vectors, copied byte for byte from the RFCs and libsrtp:
// - RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation).
// - RFC 7714 section 16.1.1 (SRTP) and 17.1 (SRTCP), AEAD_AES_128_GCM with session key 00..0f and session
//   salt "Quid pro quo" (session keys: no KDF).
// - libsrtp's srtp_validate() / srtp_validate_gcm() reference packets (cisco/libsrtp test/srtp_driver.c, BSD-3-Clause).
// And libsrtp2 itself (`SRTPSession`) as the reference for everything else, packet for packet.

private func hex(_ text: String) -> [UInt8] { hexBytes(text) }

/// Runs one in-place operation on a copy of `bytes` with room for the trailer; returns status and result.
private func run(_ bytes: [UInt8], _ operation: (UnsafeMutableRawPointer, inout Int) -> SRTPStatus) -> (SRTPStatus, [UInt8]) {
    var buffer = bytes + [UInt8](repeating: 0, count: SRTPContext.maxTrailerLength)
    var length = bytes.count
    let status = buffer.withUnsafeMutableBytes { operation($0.baseAddress!, &length) }
    return (status, Array(buffer[0..<max(0, min(length, bytes.count + SRTPContext.maxTrailerLength))]))
}

/// RTP packet; `shape` 0: bare 12-byte header, 1: two CSRCs, 2: a one-byte-form extension of two words.
private func rtpPacket(sequence: UInt16, ssrc: UInt32 = 0x1234_5678, shape: Int = 0, payload: [UInt8]) -> [UInt8] {
    let first: UInt8 = shape == 1 ? 0x82 : shape == 2 ? 0x90 : 0x80
    var packet: [UInt8] = [first, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x0B, 0xB8,
                           UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
    if shape == 1 { packet += [1, 2, 3, 4, 5, 6, 7, 8] }
    if shape == 2 { packet += [0xBE, 0xDE, 0x00, 0x02, 0x22, 0x3A, 0x51, 0x07, 0x31, 0x01, 0x2C, 0x00] }
    return packet + payload
}

/// A receiver report with one report block (RFC 3550 6.4.2).
private func rtcpPacket(ssrc: UInt32 = 0x1234_5678, fill: UInt8 = 0x42) -> [UInt8] {
    [0x81, 201, 0x00, 0x07,
     UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF)]
        + [UInt8](repeating: fill, count: 24)
}

@Suite("SRTP context (own transform on OpenSSL EVP)")
struct SRTPContextTests {
    // MARK: RFC vectors

    @Test("RFC 3711 B.3: key derivation")
    func rfc3711KeyDerivation() throws {
        let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139"), salt = hex("0EC675AD498AFEEBB6960B3AABE6")
        #expect(try SRTPKeyDerivation.derive(masterKey: key, masterSalt: salt, label: .rtpEncryption, length: 16)
                == hex("C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(try SRTPKeyDerivation.derive(masterKey: key, masterSalt: salt, label: .rtpSalt, length: 14)
                == hex("30CBBC08863D8C85D49DB34A9AE1"))
        #expect(try SRTPKeyDerivation.derive(masterKey: key, masterSalt: salt, label: .rtpAuthentication, length: 48)
                == hex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE E049646C43D9327AD175578EF7227098"))
    }

    @Test("RFC 3711 B.2: AES-CM IV and keystream")
    func rfc3711Keystream() throws {
        let salt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
        var iv = [UInt8](repeating: 0xEE, count: 16)
        salt.withUnsafeBufferPointer { s in
            iv.withUnsafeMutableBufferPointer {
                SRTPContext.counterIV($0.baseAddress!, salt: s.baseAddress!, ssrc: 0, indexHigh: 0, indexLow: 0, lowBytes: 2)
            }
        }
        #expect(iv == hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"))

        let blocks = 65282
        var stream = [UInt8](repeating: 0, count: blocks * 16)
        let context = try #require(EVP_CIPHER_CTX_new())
        defer { EVP_CIPHER_CTX_free(context) }
        var outLength: Int32 = 0
        let key = hex("2B7E151628AED2A6ABF7158809CF4F3C")
        #expect(EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key, iv) == 1)
        #expect(stream.withUnsafeMutableBufferPointer {
            EVP_EncryptUpdate(context, $0.baseAddress, &outLength, $0.baseAddress, Int32(blocks * 16))
        } == 1)
        #expect(Array(stream[0..<48]) == hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0"))
        #expect(Array(stream[(blocks - 3) * 16..<blocks * 16])
                == hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44"))
    }

    @Test("RFC 7714 16.1.1 and 17.1: AEAD_AES_128_GCM SRTP and SRTCP, both directions")
    func rfc7714Vectors() throws {
        let key = hex("000102030405060708090a0b0c0d0e0f"), salt = hex("517569642070726f2071756f")
        let keys = SRTPContext.SessionKeys(rtpKey: key, rtpSalt: salt, rtcpKey: key, rtcpSalt: salt)
        let sender = try SRTPContext(profile: .aeadAES128GCM, sessionKeys: keys, direction: .outbound)
        let receiver = try SRTPContext(profile: .aeadAES128GCM, sessionKeys: keys, direction: .inbound)

        let rtpPlain = hex("8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573")
        let srtp = hex("""
            8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833
            899d7f27beb16a9152cf765ee4390cce
            """)
        #expect(run(rtpPlain) { sender.protectRTP($0, length: &$1) } == (.ok, srtp))
        #expect(run(srtp) { receiver.unprotectRTP($0, length: &$1) } == (.ok, rtpPlain))

        let rtcpPlain = hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef")
        let srtcp = hex("""
            81c8000d4d617273 63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275b
            c84aa45896cf4d2fc5abf87245d9eade 800005d4
            """)
        #expect(run(srtcp) { receiver.unprotectRTCP($0, length: &$1) } == (.ok, rtcpPlain))
        // Our SRTCP index starts at 1 like libsrtp's: send 0x5D3 packets first.
        for _ in 1..<0x5D4 { #expect(run(rtcpPlain) { sender.protectRTCP($0, length: &$1) }.0 == .ok) }
        #expect(run(rtcpPlain) { sender.protectRTCP($0, length: &$1) } == (.ok, srtcp))
    }

    @Test("libsrtp reference packets (srtp_driver.c srtp_validate and srtp_validate_gcm)", arguments: SRTPProfile.allCases)
    func libsrtpReferencePackets(profile: SRTPProfile) throws {
        let key: [UInt8], salt: [UInt8], rtpCipher: [UInt8], srtcpCipher: [UInt8]
        if profile == .aes128CMHMACSHA1_80 {
            let master = hex("e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6")
            key = Array(master[0..<16]); salt = Array(master[16...])
            rtpCipher = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
            srtcpCipher = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")
        } else {
            key = hex("000102030405060708090a0b0c0d0e0f"); salt = hex("a0a1a2a3a4a5a6a7a8a9aaab")
            rtpCipher = hex("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392")
            srtcpCipher = hex("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001")
        }
        let rtpPlain = hex("800f1234decafbadcafebabeabababababababababababababababab")
        let rtcpPlain = hex("81c8000bcafebabeabababababababababababababababab")
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        #expect(run(rtpPlain) { sender.protectRTP($0, length: &$1) } == (.ok, rtpCipher))
        #expect(run(rtcpPlain) { sender.protectRTCP($0, length: &$1) } == (.ok, srtcpCipher))
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        #expect(run(rtpCipher) { receiver.unprotectRTP($0, length: &$1) } == (.ok, rtpPlain))
        #expect(run(srtcpCipher) { receiver.unprotectRTCP($0, length: &$1) } == (.ok, rtcpPlain))
    }

    // MARK: libsrtp2, packet for packet

    @Test("70 000 packets across two sequence wraps: the same bytes as libsrtp2, each side unprotects the other's, reordering, replays and forgeries",
          arguments: SRTPProfile.allCases)
    func matchesLibsrtp(profile: SRTPProfile) throws {
        var random = SplitMix64(seed: 0x5AB4A)
        let key = (0..<profile.masterKeyLength).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let salt = (0..<profile.masterSaltLength).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let ours = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let theirs = try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound)
        let oursIn = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        let theirsIn = try SRTPSession(profile: profile, key: key, salt: salt, direction: .inbound)

        var mismatches = 0, refused = 0, wrongVerdicts = 0
        var replays = 0, forgeries = 0, rtcpPackets = 0
        let ssrcs: [UInt32] = [0x1234_5678, 0xCAFE_F00D]
        var sequences: [UInt16] = [65_000, 12]
        var previousBlock: [(ours: [UInt8], theirs: [UInt8])] = []
        let total = 70_000
        var sent = 0
        while sent < total {
            // A block of up to 8 packets from one SSRC (the second SSRC gets every fourth block), protected in
            // order, then delivered in a shuffled order (reordering within the window).
            let stream = (sent / 8) % 4 == 3 ? 1 : 0
            var block: [(ours: [UInt8], theirs: [UInt8], plain: [UInt8])] = []
            for _ in 0..<8 {
                let payload = (0..<Int(random.next() % 160)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let plain = rtpPacket(sequence: sequences[stream], ssrc: ssrcs[stream], shape: Int(random.next() % 3), payload: payload)
                sequences[stream] &+= 1
                let a = run(plain) { ours.protectRTP($0, length: &$1) }
                let b = run(plain) { theirs.protectRTP($0, length: &$1) }
                if a.0 != .ok || b.0 != .ok || a.1 != b.1 { mismatches += 1 }
                block.append((a.1, b.1, plain))
                sent += 1
            }
            for i in (0..<block.count).reversed() {
                let j = Int(random.next() % UInt64(i + 1))
                block.swapAt(i, j)
            }
            for packet in block {
                let x = run(packet.ours) { theirsIn.unprotectRTP($0, length: &$1) }
                let y = run(packet.theirs) { oursIn.unprotectRTP($0, length: &$1) }
                if x != (.ok, packet.plain) || y != (.ok, packet.plain) { refused += 1 }
            }
            // Now and then: a replay from the last block, and a forged tag.
            if sent % 64 == 0, let old = previousBlock.randomElement(using: &random) {
                replays += 1
                if run(old.ours) { theirsIn.unprotectRTP($0, length: &$1) }.0 != .replayed { wrongVerdicts += 1 }
                if run(old.theirs) { oursIn.unprotectRTP($0, length: &$1) }.0 != .replayed { wrongVerdicts += 1 }
            }
            if sent % 96 == 0 {
                forgeries += 1
                let plain = rtpPacket(sequence: sequences[0], ssrc: ssrcs[0], payload: [1, 2, 3, 4, 5])
                sequences[0] &+= 1
                var forged = run(plain) { ours.protectRTP($0, length: &$1) }.1
                _ = run(plain) { theirs.protectRTP($0, length: &$1) }
                forged[forged.count - 1 - Int(random.next() % 4)] ^= 0x10
                if run(forged) { theirsIn.unprotectRTP($0, length: &$1) }.0 != .authFailed { wrongVerdicts += 1 }
                if run(forged) { oursIn.unprotectRTP($0, length: &$1) }.0 != .authFailed { wrongVerdicts += 1 }
            }
            // RTCP every few blocks, from either SSRC.
            if sent % 40 == 0 {
                rtcpPackets += 1
                let plain = rtcpPacket(ssrc: ssrcs[rtcpPackets % 2], fill: UInt8(truncatingIfNeeded: rtcpPackets))
                let a = run(plain) { ours.protectRTCP($0, length: &$1) }
                let b = run(plain) { theirs.protectRTCP($0, length: &$1) }
                if a.0 != .ok || a != b { mismatches += 1 }
                if run(a.1) { theirsIn.unprotectRTCP($0, length: &$1) } != (.ok, plain) { refused += 1 }
                if run(b.1) { oursIn.unprotectRTCP($0, length: &$1) } != (.ok, plain) { refused += 1 }
                if run(b.1) { oursIn.unprotectRTCP($0, length: &$1) }.0 != .replayed { wrongVerdicts += 1 }
                if run(a.1) { theirsIn.unprotectRTCP($0, length: &$1) }.0 != .replayed { wrongVerdicts += 1 }
            }
            previousBlock = block.map { ($0.ours, $0.theirs) }
        }
        #expect(mismatches == 0)
        #expect(refused == 0)
        #expect(wrongVerdicts == 0)
        #expect(replays > 100 && forgeries > 100 && rtcpPackets > 1000)
        // The first stream started at 65 000: two wraps, ROC 2 now.
        #expect(sequences[0] < 65_000 && sent + 65_000 > 2 * 65_536)
    }

    @Test("a receiver joining late and old packets around the wrap agree with libsrtp2", arguments: SRTPProfile.allCases)
    func wrapEdgesMatchLibsrtp(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 0x21, count: profile.masterKeyLength)
        let salt = [UInt8](repeating: 0x43, count: profile.masterSaltLength)
        let ours = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let oursIn = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        let theirsIn = try SRTPSession(profile: profile, key: key, salt: salt, direction: .inbound)
        // Protect 65 530 ... 65 535, 0 ... 9 (ROC 0 then 1), deliver: the post-wrap ones first, then the
        // pre-wrap ones late (ROC guessed one back), then each again. A receiver that starts after the wrap
        // keeps ROC 0 (libsrtp's rule below index 2^15), so both refuse the post-wrap packets alike.
        var packets: [(UInt16, [UInt8], [UInt8])] = []
        var sequence: UInt16 = 65_530
        for step in 0..<16 {
            let plain = rtpPacket(sequence: sequence, payload: [UInt8(step), 9, 9])
            packets.append((sequence, plain, run(plain) { ours.protectRTP($0, length: &$1) }.1))
            sequence &+= 1
        }
        let order = Array(6..<16) + Array(0..<6)
        for i in order + order {
            let a = run(packets[i].2) { oursIn.unprotectRTP($0, length: &$1) }
            let b = run(packets[i].2) { theirsIn.unprotectRTP($0, length: &$1) }
            // Statuses agree; the buffer only matters when it unprotected (an AEAD failure leaves it
            // partly decrypted, differently in each).
            #expect(a.0 == b.0, "sequence \(packets[i].0)")
            if a.0 == .ok { #expect(a.1 == b.1 && a.1 == packets[i].1) }
        }
    }

    // MARK: Behaviour

    @Test("a packet older than the 1024-packet window is refused; the outbound side may resend")
    func replayWindowAndRetransmission() throws {
        let key = [UInt8](repeating: 7, count: 16), salt = [UInt8](repeating: 8, count: 14)
        let sender = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .inbound)
        let (_, old) = run(rtpPacket(sequence: 10, payload: [9])) { sender.protectRTP($0, length: &$1) }
        let (_, recent) = run(rtpPacket(sequence: 110, payload: [9])) { sender.protectRTP($0, length: &$1) }
        let (_, newest) = run(rtpPacket(sequence: 1110, payload: [9])) { sender.protectRTP($0, length: &$1) }
        #expect(run(newest) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        #expect(run(recent) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        #expect(run(old) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)
        #expect(run(newest) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)

        let again = run(rtpPacket(sequence: 110, payload: [9])) { sender.protectRTP($0, length: &$1) }
        #expect(again == (.ok, recent))
    }

    @Test("protecting out of place (a rewritten head, the payload from where it lies) gives the bytes of copying and protecting in place",
          arguments: SRTPProfile.allCases)
    func outOfPlaceMatchesInPlace(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 3, count: profile.masterKeyLength), salt = [UInt8](repeating: 4, count: profile.masterSaltLength)
        let inPlace = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let outOfPlace = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        var sequence: UInt16 = 65_530  // across a wrap: the ROC goes into IV and tag alike
        for shape in 0...2 {
            for payloadLength in [0, 1, 6, 16, 17, 100, 1187] {
                let incoming = (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(sequence)) }
                // Heads of every size a descriptor rewrite leaves, with bytes unlike the incoming ones.
                for head in Set([0, 1, 3, 6, min(payloadLength, SRTPContext.maxHead)]) where head <= payloadLength {
                    var outgoing = incoming
                    for i in 0..<head { outgoing[i] = ~incoming[i] &+ UInt8(i) }
                    let packet = rtpPacket(sequence: sequence, shape: shape, payload: outgoing)
                    let headerLength = packet.count - payloadLength
                    let (status, expected) = run(packet) { inPlace.protectRTP($0, length: &$1) }
                    #expect(status == .ok)
                    var buffer = [UInt8](repeating: 0xAA, count: packet.count + SRTPContext.maxTrailerLength)
                    for i in 0..<(headerLength + head) { buffer[i] = packet[i] }
                    var length = headerLength + head
                    let result = buffer.withUnsafeMutableBytes { out in
                        incoming.withUnsafeBytes { outOfPlace.protectRTP(out.baseAddress!, length: &length, payload: $0, capacity: out.count) }
                    }
                    #expect(result == .ok)
                    #expect(Array(buffer[0..<length]) == expected, "shape \(shape), payload \(payloadLength), head \(head)")
                    #expect(run(expected) { receiver.unprotectRTP($0, length: &$1) } == (.ok, packet))
                    sequence &+= 1
                }
            }
        }
        // A payload that would leave no room for the tag, a head longer than the payload, and a head longer than
        // `maxHead` are refused, and nothing is written past what the caller wrote.
        let header = rtpPacket(sequence: 1, payload: [])
        for (head, payloadLength, capacity) in [(0, 25, 42), (5, 4, 100), (SRTPContext.maxHead + 1, 100, 200)] {
            var buffer = header + [UInt8](repeating: 7, count: head) + [UInt8](repeating: 0, count: capacity - header.count - head)
            var length = header.count + head
            let incoming = [UInt8](repeating: 5, count: payloadLength)
            let status = buffer.withUnsafeMutableBytes { out in
                incoming.withUnsafeBytes { outOfPlace.protectRTP(out.baseAddress!, length: &length, payload: $0, capacity: out.count) }
            }
            #expect(status == .badParameter)
            #expect(Array(buffer[(header.count + head)...]) == [UInt8](repeating: 0, count: capacity - header.count - head))
        }
    }

    @Test("a flipped tag bit fails and does not burn the index", arguments: SRTPProfile.allCases)
    func flippedTagBit(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 1, count: 16), salt = [UInt8](repeating: 2, count: profile.masterSaltLength)
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        var (_, rtp) = run(rtpPacket(sequence: 3, payload: Array(repeating: 0xAA, count: 40))) { sender.protectRTP($0, length: &$1) }
        rtp[rtp.count - 1] ^= 0x01
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .authFailed)
        rtp[rtp.count - 1] ^= 0x01
        #expect(run(rtp) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)

        var (_, rtcp) = run(rtcpPacket()) { sender.protectRTCP($0, length: &$1) }
        let tagByte = profile == .aeadAES128GCM ? rtcp.count - 5 : rtcp.count - 1
        rtcp[tagByte] ^= 0x80
        #expect(run(rtcp) { receiver.unprotectRTCP($0, length: &$1) }.0 == .authFailed)
        rtcp[tagByte] ^= 0x80
        #expect(run(rtcp) { receiver.unprotectRTCP($0, length: &$1) }.0 == .ok)
    }

    @Test("registered streams are kept; a table full of them refuses a new stream, known ones keep working",
          arguments: SRTPProfile.allCases)
    func registeredStreamsFillTheTable(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 3, count: 16), salt = [UInt8](repeating: 4, count: profile.masterSaltLength)
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        let other = try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound)
        for ssrc in 1...UInt32(SRTPContext.maxStreams) {
            #expect(sender.registerStream(ssrc &* 0x0101_0101))
            #expect(receiver.registerStream(ssrc &* 0x0101_0101))
        }
        #expect(sender.streamCount == SRTPContext.maxStreams && receiver.streamCount == SRTPContext.maxStreams)
        #expect(!sender.registerStream(0xFFFF_0000), "past the limit")
        let extra = rtpPacket(sequence: 1, ssrc: 0xFFFF_0000, payload: [1])
        #expect(run(extra) { sender.protectRTP($0, length: &$1) }.0 == .streamTableFull)
        let fromOther = run(extra) { other.protectRTP($0, length: &$1) }.1
        #expect(run(fromOther) { receiver.unprotectRTP($0, length: &$1) }.0 == .streamTableFull)
        let known = run(rtpPacket(sequence: 2, ssrc: 5 &* 0x0101_0101, payload: [2])) { sender.protectRTP($0, length: &$1) }
        #expect(known.0 == .ok)
        #expect(run(known.1) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        // Freeing one registered stream makes room for the new one.
        sender.removeStream(7 &* 0x0101_0101)
        receiver.removeStream(7 &* 0x0101_0101)
        let admitted = run(extra) { sender.protectRTP($0, length: &$1) }
        #expect(admitted.0 == .ok)
        #expect(run(admitted.1) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
    }

    @Test("unregistered SSRCs past the table's size evict the least recently used one, and only when authentic",
          arguments: SRTPProfile.allCases)
    func unregisteredStreamsAreEvictedLeastRecentlyUsedFirst(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 5, count: 16), salt = [UInt8](repeating: 6, count: profile.masterSaltLength)
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound, streams: 8)
        let capacity = receiver.streamCapacity
        receiver.registerStream(0xAAAA)  // a producer's stream: never evicted
        let first = run(rtpPacket(sequence: 10, ssrc: 0xAAAA, payload: [1])) { sender.protectRTP($0, length: &$1) }.1
        #expect(run(first) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        // RTCP from as many receiving transceivers as the table has slots, and then some.
        var sent: [UInt32: [UInt8]] = [:]
        for n in 1...UInt32(capacity + 20) {
            let protected = run(rtcpPacket(ssrc: 0x1000 + n)) { sender.protectRTCP($0, length: &$1) }.1
            #expect(run(protected) { receiver.unprotectRTCP($0, length: &$1) }.0 == .ok)
            sent[0x1000 + n] = protected
        }
        #expect(receiver.streamCount == capacity && receiver.streamEvictions == 21)
        // Forgeries from new SSRCs evict nothing.
        for n in 0..<UInt32(50) {
            var forged = rtcpPacket(ssrc: 0x9000 + n) + [UInt8](repeating: 0, count: 20)
            forged[forged.count - 1] = 1
            _ = run(forged) { receiver.unprotectRTCP($0, length: &$1) }
        }
        #expect(receiver.streamEvictions == 21)
        // The registered stream kept its replay state: its old packet is still a replay.
        #expect(receiver.isRegistered(0xAAAA))
        #expect(run(first) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)
        // The most recent SSRC is still known (a replay is caught); an evicted one starts afresh.
        #expect(run(sent[0x1000 + UInt32(capacity + 20)]!) { receiver.unprotectRTCP($0, length: &$1) }.0 == .replayed)
        let next = run(rtcpPacket(ssrc: 0x1001)) { sender.protectRTCP($0, length: &$1) }.1
        #expect(run(next) { receiver.unprotectRTCP($0, length: &$1) }.0 == .ok)
    }

    @Test("growing and shrinking the table keeps every remaining stream's ROC and replay state", arguments: SRTPProfile.allCases)
    func streamsKeepTheirStateAcrossGrowthAndRemoval(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 7, count: 16), salt = [UInt8](repeating: 8, count: profile.masterSaltLength)
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        let ssrcs = (1...UInt32(40)).map { $0 &* 0x9E37_79B1 }
        var last: [UInt32: [UInt8]] = [:]
        // Past the 16-bit wrap, so the ROC matters.
        for ssrc in ssrcs {
            sender.registerStream(ssrc)
            receiver.registerStream(ssrc)
            for sequence in [UInt16(65_530), 65_535, 3] {
                let protected = run(rtpPacket(sequence: sequence, ssrc: ssrc, payload: [9])) { sender.protectRTP($0, length: &$1) }.1
                #expect(run(protected) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
                last[ssrc] = protected
            }
        }
        let before = receiver.streamCapacity
        receiver.reserveStreams(600)
        sender.reserveStreams(600)
        #expect(receiver.streamCapacity > before)
        for ssrc in ssrcs.enumerated().filter({ $0.offset % 3 == 0 }).map(\.element) {
            receiver.removeStream(ssrc)
            sender.removeStream(ssrc)
        }
        for (index, ssrc) in ssrcs.enumerated() where index % 3 != 0 {
            #expect(run(last[ssrc]!) { receiver.unprotectRTP($0, length: &$1) }.0 == .replayed)
            let protected = run(rtpPacket(sequence: 4, ssrc: ssrc, payload: [9])) { sender.protectRTP($0, length: &$1) }.1
            #expect(run(protected) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok, "ROC 1 carried over")
        }
        #expect(receiver.streamCount == ssrcs.count - 14)
    }

    @Test("forged packets from unknown SSRCs do not take table slots")
    func forgeriesTakeNoSlots() throws {
        let key = [UInt8](repeating: 5, count: 16), salt = [UInt8](repeating: 6, count: 14)
        let receiver = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .inbound)
        let sender = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: key, salt: salt, direction: .outbound)
        for ssrc in 0..<UInt32(100) {
            let forged = rtpPacket(sequence: 1, ssrc: ssrc, payload: Array(repeating: 0, count: 20))
            #expect(run(forged) { receiver.unprotectRTP($0, length: &$1) }.0 == .authFailed)
        }
        let (_, genuine) = run(rtpPacket(sequence: 1, ssrc: 0xABCD, payload: [1])) { sender.protectRTP($0, length: &$1) }
        #expect(run(genuine) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
    }

    @Test("random and truncated packets never trap and never unprotect", arguments: SRTPProfile.allCases)
    func randomInput(profile: SRTPProfile) throws {
        let key = [UInt8](repeating: 9, count: 16), salt = [UInt8](repeating: 10, count: profile.masterSaltLength)
        let sender = try SRTPContext(profile: profile, key: key, salt: salt, direction: .outbound)
        let receiver = try SRTPContext(profile: profile, key: key, salt: salt, direction: .inbound)
        var random = SplitMix64(seed: 0xC0FFEE)
        let (_, genuine) = run(rtpPacket(sequence: 42, shape: 2, payload: Array(repeating: 1, count: 60))) { sender.protectRTP($0, length: &$1) }
        let (_, genuineRTCP) = run(rtcpPacket()) { sender.protectRTCP($0, length: &$1) }
        for round in 0..<3000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            case 1: bytes = Array(genuine.prefix(Int(random.next() % UInt64(genuine.count))))
            default: bytes = Array(genuineRTCP.prefix(Int(random.next() % UInt64(genuineRTCP.count))))
            }
            #expect(run(bytes) { receiver.unprotectRTP($0, length: &$1) }.0 != .ok)
            #expect(run(bytes) { receiver.unprotectRTCP($0, length: &$1) }.0 != .ok)
            // Protect takes any header-shaped input without trapping either.
            _ = run(bytes) { sender.protectRTP($0, length: &$1) }
        }
        #expect(run(genuine) { receiver.unprotectRTP($0, length: &$1) }.0 == .ok)
        #expect(run(genuineRTCP) { receiver.unprotectRTCP($0, length: &$1) }.0 == .ok)
    }

    @Test("keys and salts of the wrong length are refused")
    func wrongKeyLength() {
        #expect(throws: MediaError.self) {
            try SRTPContext(profile: .aeadAES128GCM, key: [UInt8](repeating: 1, count: 16), salt: [UInt8](repeating: 1, count: 14), direction: .inbound)
        }
        #expect(throws: MediaError.self) {
            try SRTPContext(profile: .aes128CMHMACSHA1_80, key: [UInt8](repeating: 1, count: 15), salt: [UInt8](repeating: 1, count: 14), direction: .outbound)
        }
    }
}
