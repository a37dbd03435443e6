import CMediaShims
import COpenSSL

/// Sabha's own SRTP/SRTCP transform on OpenSSL EVP for one direction of one transport: the same API and the
/// same bytes as the libsrtp2 `SRTPSession` (kept as the reference in tests), without libsrtp's per-packet
/// allocations.
///
/// - AES_CM_128_HMAC_SHA1_80 (RFC 3711): AES-128-CTR keystream with the IV of section 4.1.1, HMAC-SHA1 over
///   the packet and the ROC (RTP) or the packet with its E flag and SRTCP index (RTCP), 80-bit tags.
/// - AEAD_AES_128_GCM (RFC 7714): AES-128-GCM with the 12-byte IV of sections 8.1 and 9.1, AAD = the RTP
///   header, or the RTCP header and the E flag and SRTCP index; 16-byte tags.
/// - Session keys from the RFC 3711 KDF (`SRTPKeyDerivation`), once, at init.
/// - Per SSRC: the ROC and highest index with a 1024-packet replay window (`SRTPReplayWindow`) and the SRTCP
///   index with a 128-packet window (`SRTCPReplayWindow`), in an `SRTPStreamTable` that follows the streams the
///   transport carries (`register`, `remove`, `reserve` off the packet path). A new SSRC that finds no room
///   (every slot registered, or `SRTPStreamTable.maxStreams` reached) gets `.streamTableFull`.
///
/// Behaviour follows libsrtp's where RFC 3711 leaves room: the outbound side may protect an index again (NACK
/// retransmissions, libsrtp allow_repeat_tx), SRTCP indexes start at 1, replay is checked before the tag,
/// an unknown inbound SSRC gets a stream only once its packet authenticates, and an AEAD packet that fails
/// authentication is left decrypted in the buffer (drop it).
///
/// The cipher contexts are created once per session (one direction) and re-initialised per packet with the
/// new IV only; HMAC-SHA1 copies precomputed inner and outer SHA-1 states (RFC 2104). Nothing on the packet
/// path allocates or throws. Not Sendable: owned by the worker thread that owns the transport.
public final class SRTPContext {
    /// Bytes the caller must leave free after a packet for `protectRTP` / `protectRTCP` (16-byte GCM tag
    /// plus the 4-byte SRTCP E flag and index), the same as `SRTPSession`'s.
    public static let maxTrailerLength = 20
    /// RTP replay window in packets, the same as `SRTPSession.replayWindow`.
    public static let replayWindow = SRTPReplayWindow.bits
    /// SSRCs a session tracks at first; the table grows with `reserve` and `register`.
    public static let initialStreamCapacity = SRTPStreamTable.minimumCapacity
    /// The most SSRCs one session tracks.
    public static let maxStreams = SRTPStreamTable.maxStreams

    public let profile: SRTPProfile
    public let direction: SRTPDirection

    private let isGCM: Bool
    /// Tag bytes: 10 (HMAC-SHA1-80) or 16 (GCM).
    private let tagLength: Int
    /// EVP_CIPHER_CTX: AES-128-CTR, or AES-128-GCM set up to encrypt (outbound) or decrypt (inbound).
    private let rtpCipher: OpaquePointer
    private let rtcpCipher: OpaquePointer
    /// The fetched EVP_CIPHER the contexts use, so per-packet re-init does no implicit fetch.
    private let cipher: OpaquePointer

    /// One allocation for everything else the packet path touches, laid out below.
    private let scratch: UnsafeMutableRawPointer
    private let shaSize: Int
    private var rtpSalt: UnsafeMutablePointer<UInt8> { scratch.assumingMemoryBound(to: UInt8.self) }
    private var rtcpSalt: UnsafeMutablePointer<UInt8> { (scratch + 16).assumingMemoryBound(to: UInt8.self) }
    private var iv: UnsafeMutablePointer<UInt8> { (scratch + 32).assumingMemoryBound(to: UInt8.self) }
    /// 20-byte digest, then 4 bytes for the ROC or the SRTCP word.
    private var digest: UnsafeMutablePointer<UInt8> { (scratch + 48).assumingMemoryBound(to: UInt8.self) }
    private var word: UnsafeMutablePointer<UInt8> { (scratch + 72).assumingMemoryBound(to: UInt8.self) }
    /// The rewritten head of an out-of-place protect, as an XOR correction (`maxHead` bytes).
    private var difference: UnsafeMutablePointer<UInt8> { (scratch + 80).assumingMemoryBound(to: UInt8.self) }
    /// The most payload bytes before the untouched rest that an out-of-place protect takes (a VP8 descriptor
    /// with PictureID and TL0PICIDX is at most 6).
    static let maxHead = 32
    /// SHA-1 states: RTP inner, RTP outer, RTCP inner, RTCP outer, work.
    private func sha(_ slot: Int) -> UnsafeMutableRawPointer { scratch + 128 + slot * shaSize }

    /// Replay and index state per SSRC.
    private let streams: SRTPStreamTable

    /// Session keys and salts (RFC 3711 section 4.3), what the KDF makes of a master key and salt.
    struct SessionKeys {
        var rtpKey: [UInt8]
        var rtpSalt: [UInt8]
        var rtcpKey: [UInt8]
        var rtcpSalt: [UInt8]
        /// 20 bytes each for AES_CM_128_HMAC_SHA1_80, empty for AEAD.
        var rtpAuthKey: [UInt8] = []
        var rtcpAuthKey: [UInt8] = []

        init(rtpKey: [UInt8], rtpSalt: [UInt8], rtcpKey: [UInt8], rtcpSalt: [UInt8], rtpAuthKey: [UInt8] = [], rtcpAuthKey: [UInt8] = []) {
            self.rtpKey = rtpKey
            self.rtpSalt = rtpSalt
            self.rtcpKey = rtcpKey
            self.rtcpSalt = rtcpSalt
            self.rtpAuthKey = rtpAuthKey
            self.rtcpAuthKey = rtcpAuthKey
        }

        init(profile: SRTPProfile, masterKey: [UInt8], masterSalt: [UInt8]) throws {
            let saltLength = profile == .aeadAES128GCM ? 12 : 14
            func derive(_ label: SRTPKeyDerivation.Label, _ length: Int) throws -> [UInt8] {
                try SRTPKeyDerivation.derive(masterKey: masterKey, masterSalt: masterSalt, label: label, length: length)
            }
            rtpKey = try derive(.rtpEncryption, 16)
            rtpSalt = try derive(.rtpSalt, saltLength)
            rtcpKey = try derive(.rtcpEncryption, 16)
            rtcpSalt = try derive(.rtcpSalt, saltLength)
            if profile == .aes128CMHMACSHA1_80 {
                rtpAuthKey = try derive(.rtpAuthentication, 20)
                rtcpAuthKey = try derive(.rtcpAuthentication, 20)
            }
        }

        mutating func wipe() {
            for i in rtpKey.indices { rtpKey[i] = 0 }
            for i in rtcpKey.indices { rtcpKey[i] = 0 }
            for i in rtpAuthKey.indices { rtpAuthKey[i] = 0 }
            for i in rtcpAuthKey.indices { rtcpAuthKey[i] = 0 }
        }
    }

    /// A session from the master key and salt DTLS exported (RFC 5764 section 4.2).
    /// `streams`: how many SSRCs to make room for at once (the table grows later as streams are registered).
    public convenience init(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: SRTPDirection,
                            streams: Int = SRTPContext.initialStreamCapacity) throws {
        guard key.count == profile.masterKeyLength, salt.count == profile.masterSaltLength else {
            throw MediaError.srtp("\(profile.rawValue) needs a \(profile.masterKeyLength)-byte key and a \(profile.masterSaltLength)-byte salt, got \(key.count) and \(salt.count)")
        }
        var keys = try SessionKeys(profile: profile, masterKey: key, masterSalt: salt)
        defer { keys.wipe() }
        try self.init(profile: profile, sessionKeys: keys, direction: direction, streams: streams)
    }

    /// A session from session keys directly (the RFC 7714 test vectors give those).
    init(profile: SRTPProfile, sessionKeys keys: SessionKeys, direction: SRTPDirection,
         streams: Int = SRTPContext.initialStreamCapacity) throws {
        self.profile = profile
        self.direction = direction
        isGCM = profile == .aeadAES128GCM
        tagLength = isGCM ? 16 : 10
        let saltLength = isGCM ? 12 : 14
        guard keys.rtpKey.count == 16, keys.rtcpKey.count == 16, keys.rtpSalt.count == saltLength, keys.rtcpSalt.count == saltLength,
              isGCM || (keys.rtpAuthKey.count == 20 && keys.rtcpAuthKey.count == 20) else {
            throw MediaError.srtp("session keys of the wrong length for \(profile.rawValue)")
        }
        let rtpKey = keys.rtpKey, rtcpKey = keys.rtcpKey
        let rtpSaltBytes = keys.rtpSalt, rtcpSaltBytes = keys.rtcpSalt

        guard let cipher = EVP_CIPHER_fetch(nil, isGCM ? "AES-128-GCM" : "AES-128-CTR", nil) else {
            throw MediaError.srtp("EVP_CIPHER_fetch failed")
        }
        guard let rtpCipher = EVP_CIPHER_CTX_new() else { EVP_CIPHER_free(cipher); throw MediaError.srtp("EVP_CIPHER_CTX_new failed") }
        guard let rtcpCipher = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(rtpCipher); EVP_CIPHER_free(cipher); throw MediaError.srtp("EVP_CIPHER_CTX_new failed")
        }
        self.cipher = cipher
        self.rtpCipher = rtpCipher
        self.rtcpCipher = rtcpCipher

        shaSize = (sabha_sha1_context_size() + 15) / 16 * 16
        scratch = .allocate(byteCount: 128 + 5 * shaSize, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: 128 + 5 * shaSize)

        self.streams = SRTPStreamTable(capacity: 2 * streams)

        // Both directions of CTR encrypt; GCM decrypts inbound so it checks the tag.
        let encrypt: Int32 = (isGCM && direction == .inbound) ? 0 : 1
        guard EVP_CipherInit_ex2(rtpCipher, cipher, rtpKey, nil, encrypt, nil) == 1,
              EVP_CipherInit_ex2(rtcpCipher, cipher, rtcpKey, nil, encrypt, nil) == 1 else {
            throw MediaError.srtp("AES-128 cipher setup failed")
        }
        for i in 0..<saltLength {
            rtpSalt[i] = rtpSaltBytes[i]
            rtcpSalt[i] = rtcpSaltBytes[i]
        }
        if !isGCM {
            try Self.hmacPads(key: keys.rtpAuthKey, inner: sha(0), outer: sha(1))
            try Self.hmacPads(key: keys.rtcpAuthKey, inner: sha(2), outer: sha(3))
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(rtpCipher)
        EVP_CIPHER_CTX_free(rtcpCipher)
        EVP_CIPHER_free(cipher)
        // Session keys live in the SHA-1 pad states and the salts: wipe them.
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: 128 + 5 * shaSize)
        scratch.deallocate()
    }

    // MARK: - Streams (off the packet path)

    /// Marks `ssrc` as a stream this session carries (a producer's or consumer's, or our RTCP SSRC): its state
    /// is kept until `removeStream`, never evicted for another. False when `maxStreams` streams are held.
    @discardableResult
    public func registerStream(_ ssrc: UInt32) -> Bool { streams.register(ssrc) }

    /// Forgets `ssrc` (its producer or consumer closed), freeing its slot.
    public func removeStream(_ ssrc: UInt32) { streams.remove(ssrc) }

    /// Grows the table so `count` streams fit without crowding (allocates; never on the packet path).
    public func reserveStreams(_ count: Int) { streams.reserve(count) }

    /// SSRCs tracked now, and slots in the table.
    public var streamCount: Int { streams.count }
    public var streamCapacity: Int { streams.capacity }
    /// Unregistered SSRCs dropped to make room for new ones.
    public var streamEvictions: Int { streams.evictions }
    func isRegistered(_ ssrc: UInt32) -> Bool { streams.isRegistered(ssrc) }

    /// RFC 2104: SHA-1 states after hashing (key XOR ipad) and (key XOR opad), one 64-byte block each.
    private static func hmacPads(key: [UInt8], inner: UnsafeMutableRawPointer, outer: UnsafeMutableRawPointer) throws {
        var block = [UInt8](repeating: 0, count: 64)
        for (i, byte) in key.enumerated() { block[i] = byte }
        defer { for i in block.indices { block[i] = 0 } }
        for (state, pad) in [(inner, UInt8(0x36)), (outer, UInt8(0x5C))] {
            let padded = block.map { $0 ^ pad }
            guard sabha_sha1_init(state) == 1, sabha_sha1_update(state, padded, 64) == 1 else {
                throw MediaError.srtp("SHA-1 setup failed")
            }
        }
    }

    // MARK: - RTP

    /// Encrypts and authenticates an RTP packet in place; `length` grows by the tag.
    /// The buffer holds `capacity` bytes (pass it: a packet whose tag would not fit gets `.badParameter`);
    /// callers that leave `maxTrailerLength` bytes of room after `length` may omit it.
    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: inout Int, capacity: Int = .max) -> SRTPStatus {
        protectRTP(packet, length: &length, payload: UnsafeRawBufferPointer(start: nil, count: 0), capacity: capacity)
    }

    /// Protects a forwarded packet out of place: the buffer holds the header and the first `length - header`
    /// bytes of the payload as they go out (a rewritten VP8 descriptor), `payload` the whole payload as it came
    /// in (at least that long; the head at most `maxHead` bytes); `length` becomes the protected packet's. With AES-CM the payload is encrypted
    /// from `payload` into the buffer in one pass and the rewritten bytes are corrected in the ciphertext (CTR is
    /// an XOR with the keystream), so it is never copied; with GCM, whose tag covers the ciphertext, the rest is
    /// copied behind the head and encrypted in place (two passes of the cipher cost more than the copy).
    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: inout Int, payload: UnsafeRawBufferPointer,
                           capacity: Int = .max) -> SRTPStatus {
        let written = length
        guard written >= 12, written <= Int(Int32.max) - Self.maxTrailerLength,
              let headerLength = Self.rtpHeaderLength(packet, written) else { return .badParameter }
        let head = written - headerLength
        let total = payload.count > 0 ? headerLength + payload.count : written
        guard payload.count == 0 || (payload.count >= head && head <= Self.maxHead), total <= Int(Int32.max) - Self.maxTrailerLength,
              total <= capacity - tagLength else { return .badParameter }
        let ssrc = Self.load32(packet, 8)
        let sequence = Self.load16(packet, 2)
        guard let slot = streams.find(ssrc) ?? streams.insert(ssrc) else { return .streamTableFull }
        streams.touch(slot)
        // The sending side keeps only the highest index (for the ROC): a packet sent again (a NACK answer) is
        // protected again, as libsrtp's allow_repeat_tx, so its replay mask would decide nothing; libsrtp refuses
        // indexes older than the window, and so do we.
        let (index, delta) = SRTPReplayWindow.estimate(highest: streams.slots[slot].highest, sequence: sequence)
        if delta > 0 {
            streams.slots[slot].highest = (streams.slots[slot].highest &+ UInt64(delta)) & 0xFFFF_FFFF_FFFF
        } else if Int(-delta) >= SRTPReplayWindow.bits {
            return .replayed
        }
        let roc = UInt32(truncatingIfNeeded: index >> 16)
        let bytes = packet.assumingMemoryBound(to: UInt8.self)
        let body = bytes + headerLength
        var outLength: Int32 = 0
        if isGCM {
            if total > written, let source = payload.baseAddress {
                (bytes + written).update(from: source.assumingMemoryBound(to: UInt8.self) + head, count: total - written)
            }
            gcmRTPIV(ssrc: ssrc, roc: roc, sequence: sequence)
            guard EVP_EncryptInit_ex2(rtpCipher, nil, nil, iv, nil) == 1,
                  EVP_EncryptUpdate(rtpCipher, nil, &outLength, bytes, Int32(headerLength)) == 1,
                  EVP_EncryptUpdate(rtpCipher, body, &outLength, body, Int32(total - headerLength)) == 1,
                  EVP_EncryptFinal_ex(rtpCipher, bytes + total, &outLength) == 1,
                  EVP_CIPHER_CTX_ctrl(rtpCipher, EVP_CTRL_AEAD_GET_TAG, 16, bytes + total) == 1 else { return .other(-1) }
        } else {
            ctrIV(salt: rtpSalt, ssrc: ssrc, indexHigh: roc, indexLow: UInt32(sequence), lowBytes: 2)
            guard EVP_EncryptInit_ex2(rtpCipher, nil, nil, iv, nil) == 1 else { return .other(-1) }
            if let source = payload.baseAddress, payload.count > 0 {
                // The head's bytes as they go out XOR those the cipher encrypts in their place: applied to the
                // ciphertext afterwards, they make it the encryption of the head.
                let incoming = source.assumingMemoryBound(to: UInt8.self)
                if head <= 8 && payload.count >= 8 {
                    // The usual case, a VP8 descriptor of up to 6 bytes: one word, masked to the head's bytes.
                    let mask: UInt64 = head == 8 ? .max : (1 << UInt64(8 * head)) &- 1
                    let difference = (UnsafeRawPointer(body).loadUnaligned(as: UInt64.self)
                        ^ UnsafeRawPointer(incoming).loadUnaligned(as: UInt64.self)) & mask
                    guard EVP_EncryptUpdate(rtpCipher, body, &outLength, incoming, Int32(payload.count)) == 1 else { return .other(-1) }
                    let encrypted = UnsafeRawPointer(body).loadUnaligned(as: UInt64.self)
                    UnsafeMutableRawPointer(body).storeBytes(of: encrypted ^ difference, as: UInt64.self)
                } else {
                    let difference = self.difference
                    for i in 0..<head { difference[i] = body[i] ^ incoming[i] }
                    guard EVP_EncryptUpdate(rtpCipher, body, &outLength, incoming, Int32(payload.count)) == 1 else { return .other(-1) }
                    for i in 0..<head { body[i] ^= difference[i] }
                }
            } else {
                guard EVP_EncryptUpdate(rtpCipher, body, &outLength, body, Int32(total - headerLength)) == 1 else { return .other(-1) }
            }
            Self.store32(roc, word)
            hmac(inner: sha(0), outer: sha(1), bytes, total, trailer: word)
            (bytes + total).update(from: digest, count: 10)
        }
        length = total + tagLength
        return .ok
    }

    /// Checks and decrypts an SRTP packet in place; `length` shrinks by the tag.
    public func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 12 + tagLength, length <= Int(Int32.max) else { return .badParameter }
        let bodyEnd = length - tagLength
        guard let headerLength = Self.rtpHeaderLength(packet, bodyEnd) else { return .badParameter }
        let ssrc = Self.load32(packet, 8)
        let sequence = Self.load16(packet, 2)
        // An unknown SSRC is checked in a fresh slot, claimed only once the packet authenticates.
        let candidate = streams.find(ssrc) ?? streams.vacancy(for: ssrc)
        let (index, delta) = SRTPReplayWindow.estimate(highest: streams.slots[candidate].highest, sequence: sequence)
        guard SRTPReplayWindow.check(delta: delta, highest: streams.slots[candidate].highest, mask: streams.rtpMask(candidate)) == .fresh
        else { return .replayed }
        let roc = UInt32(truncatingIfNeeded: index >> 16)
        let bytes = packet.assumingMemoryBound(to: UInt8.self)
        var outLength: Int32 = 0
        if isGCM {
            gcmRTPIV(ssrc: ssrc, roc: roc, sequence: sequence)
            guard EVP_DecryptInit_ex2(rtpCipher, nil, nil, iv, nil) == 1,
                  EVP_DecryptUpdate(rtpCipher, nil, &outLength, bytes, Int32(headerLength)) == 1,
                  EVP_DecryptUpdate(rtpCipher, bytes + headerLength, &outLength, bytes + headerLength, Int32(bodyEnd - headerLength)) == 1,
                  EVP_CIPHER_CTX_ctrl(rtpCipher, EVP_CTRL_AEAD_SET_TAG, 16, bytes + bodyEnd) == 1 else { return .other(-1) }
            guard EVP_DecryptFinal_ex(rtpCipher, bytes + bodyEnd, &outLength) == 1 else { return .authFailed }
        } else {
            Self.store32(roc, word)
            hmac(inner: sha(0), outer: sha(1), bytes, bodyEnd, trailer: word)
            guard Self.equal(digest, bytes + bodyEnd, 10) else { return .authFailed }
            ctrIV(salt: rtpSalt, ssrc: ssrc, indexHigh: roc, indexLow: UInt32(sequence), lowBytes: 2)
            guard EVP_EncryptInit_ex2(rtpCipher, nil, nil, iv, nil) == 1,
                  EVP_EncryptUpdate(rtpCipher, bytes + headerLength, &outLength, bytes + headerLength, Int32(bodyEnd - headerLength)) == 1
            else { return .other(-1) }
        }
        guard let slot = streams.claim(candidate, ssrc) else { return .streamTableFull }
        streams.touch(slot)
        SRTPReplayWindow.add(delta: delta, highest: &streams.slots[slot].highest, mask: streams.rtpMask(slot))
        length = bodyEnd
        return .ok
    }

    // MARK: - RTCP

    /// Encrypts and authenticates an RTCP compound packet in place, appending the SRTCP index and tag.
    /// The buffer holds `capacity` bytes (as for `protectRTP`).
    public func protectRTCP(_ packet: UnsafeMutableRawPointer, length: inout Int, capacity: Int = .max) -> SRTPStatus {
        guard length >= 8, length <= Int(Int32.max) - Self.maxTrailerLength, length <= capacity - 4 - tagLength else {
            return .badParameter
        }
        let ssrc = Self.load32(packet, 4)
        guard let slot = streams.find(ssrc) ?? streams.insert(ssrc) else { return .streamTableFull }
        streams.touch(slot)
        guard streams.slots[slot].rtcpStart < SRTCPReplayWindow.maxIndex else { return .other(15) }
        streams.slots[slot].rtcpStart += 1
        let index = streams.slots[slot].rtcpStart
        Self.store32(index | 0x8000_0000, word)
        let bytes = packet.assumingMemoryBound(to: UInt8.self)
        var outLength: Int32 = 0
        if isGCM {
            gcmRTCPIV(ssrc: ssrc, index: index)
            guard EVP_EncryptInit_ex2(rtcpCipher, nil, nil, iv, nil) == 1,
                  EVP_EncryptUpdate(rtcpCipher, nil, &outLength, bytes, 8) == 1,
                  EVP_EncryptUpdate(rtcpCipher, nil, &outLength, word, 4) == 1,
                  EVP_EncryptUpdate(rtcpCipher, bytes + 8, &outLength, bytes + 8, Int32(length - 8)) == 1,
                  EVP_EncryptFinal_ex(rtcpCipher, bytes + length, &outLength) == 1,
                  EVP_CIPHER_CTX_ctrl(rtcpCipher, EVP_CTRL_AEAD_GET_TAG, 16, bytes + length) == 1 else { return .other(-1) }
            (bytes + length + 16).update(from: word, count: 4)
            length += 20
        } else {
            ctrIV(salt: rtcpSalt, ssrc: ssrc, indexHigh: 0, indexLow: index, lowBytes: 4)
            guard EVP_EncryptInit_ex2(rtcpCipher, nil, nil, iv, nil) == 1,
                  EVP_EncryptUpdate(rtcpCipher, bytes + 8, &outLength, bytes + 8, Int32(length - 8)) == 1 else { return .other(-1) }
            (bytes + length).update(from: word, count: 4)
            length += 4
            hmac(inner: sha(2), outer: sha(3), bytes, length, trailer: nil)
            (bytes + length).update(from: digest, count: 10)
            length += 10
        }
        return .ok
    }

    /// Checks and decrypts an SRTCP packet in place; `length` shrinks to the RTCP compound.
    public func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 8 + 4 + tagLength, length <= Int(Int32.max) else { return .badParameter }
        let bytes = packet.assumingMemoryBound(to: UInt8.self)
        // CM: header | payload | E+index | tag. GCM: header | payload | tag | E+index (RFC 7714 section 9).
        let wordOffset = isGCM ? length - 4 : length - 4 - tagLength
        let tagOffset = isGCM ? length - 4 - tagLength : length - tagLength
        let payloadEnd = isGCM ? tagOffset : wordOffset
        let trailer = Self.load32(packet, wordOffset)
        let encrypted = trailer & 0x8000_0000 != 0
        let index = trailer & 0x7FFF_FFFF
        let ssrc = Self.load32(packet, 4)
        let candidate = streams.find(ssrc) ?? streams.vacancy(for: ssrc)
        guard SRTCPReplayWindow.check(index: index, start: streams.slots[candidate].rtcpStart, mask: streams.rtcpMask(candidate)) == .ok
        else { return .replayed }
        var outLength: Int32 = 0
        if isGCM {
            gcmRTCPIV(ssrc: ssrc, index: index)
            (word).update(from: bytes + wordOffset, count: 4)
            // Unencrypted (E = 0): the whole packet is AAD (RFC 7714 section 9.3).
            let aadLength = encrypted ? 8 : payloadEnd
            guard EVP_DecryptInit_ex2(rtcpCipher, nil, nil, iv, nil) == 1,
                  EVP_DecryptUpdate(rtcpCipher, nil, &outLength, bytes, Int32(aadLength)) == 1,
                  EVP_DecryptUpdate(rtcpCipher, nil, &outLength, word, 4) == 1,
                  !encrypted || EVP_DecryptUpdate(rtcpCipher, bytes + 8, &outLength, bytes + 8, Int32(payloadEnd - 8)) == 1,
                  EVP_CIPHER_CTX_ctrl(rtcpCipher, EVP_CTRL_AEAD_SET_TAG, 16, bytes + tagOffset) == 1 else { return .other(-1) }
            guard EVP_DecryptFinal_ex(rtcpCipher, bytes + tagOffset, &outLength) == 1 else { return .authFailed }
        } else {
            hmac(inner: sha(2), outer: sha(3), bytes, tagOffset, trailer: nil)
            guard Self.equal(digest, bytes + tagOffset, 10) else { return .authFailed }
            if encrypted {
                ctrIV(salt: rtcpSalt, ssrc: ssrc, indexHigh: 0, indexLow: index, lowBytes: 4)
                guard EVP_EncryptInit_ex2(rtcpCipher, nil, nil, iv, nil) == 1,
                      EVP_EncryptUpdate(rtcpCipher, bytes + 8, &outLength, bytes + 8, Int32(payloadEnd - 8)) == 1 else { return .other(-1) }
            }
        }
        guard let slot = streams.claim(candidate, ssrc) else { return .streamTableFull }
        streams.touch(slot)
        SRTCPReplayWindow.add(index: index, start: &streams.slots[slot].rtcpStart, mask: streams.rtcpMask(slot))
        length = payloadEnd
        return .ok
    }

    // MARK: - Packet helpers

    /// RTP header length with CSRCs and extension, or nil when `length` cannot hold it (libsrtp's
    /// srtp_validate_rtp_header).
    @inline(__always)
    private static func rtpHeaderLength(_ packet: UnsafeMutableRawPointer, _ length: Int) -> Int? {
        let first = packet.load(as: UInt8.self)
        var headerLength = 12 + 4 * Int(first & 0x0F)
        guard length >= headerLength else { return nil }
        if first & 0x10 != 0 {
            guard length >= headerLength + 4 else { return nil }
            headerLength += 4 + 4 * Int(load16(packet, headerLength + 2))
            guard length >= headerLength else { return nil }
        }
        return headerLength
    }

    @inline(__always)
    private static func load16(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    private static func load32(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    private static func store32(_ value: UInt32, _ p: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    @inline(__always)
    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var difference: UInt8 = 0
        for i in 0..<count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// RFC 3711 4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16); the index's low 16 bits
    /// (`lowBytes` = 2, RTP: SEQ; 4, SRTCP: the 31-bit index) and the ROC above them (RTP).
    @inline(__always)
    private func ctrIV(salt: UnsafeMutablePointer<UInt8>, ssrc: UInt32, indexHigh: UInt32, indexLow: UInt32, lowBytes: Int) {
        Self.counterIV(iv, salt: salt, ssrc: ssrc, indexHigh: indexHigh, indexLow: indexLow, lowBytes: lowBytes)
    }

    @inline(__always)
    static func counterIV(_ iv: UnsafeMutablePointer<UInt8>, salt: UnsafePointer<UInt8>, ssrc: UInt32, indexHigh: UInt32,
                          indexLow: UInt32, lowBytes: Int) {
        iv.update(from: salt, count: 14)
        iv[14] = 0
        iv[15] = 0
        xor32(ssrc, into: iv, at: 4)
        if lowBytes == 2 {
            xor32(indexHigh, into: iv, at: 8)
            iv[12] ^= UInt8(truncatingIfNeeded: indexLow >> 8)
            iv[13] ^= UInt8(truncatingIfNeeded: indexLow)
        } else {
            xor32(indexLow, into: iv, at: 10)
        }
    }

    /// RFC 7714 8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt.
    @inline(__always)
    private func gcmRTPIV(ssrc: UInt32, roc: UInt32, sequence: UInt16) {
        iv.update(from: rtpSalt, count: 12)
        xor32(ssrc, at: 2)
        xor32(roc, at: 6)
        iv[10] ^= UInt8(truncatingIfNeeded: sequence >> 8)
        iv[11] ^= UInt8(truncatingIfNeeded: sequence)
    }

    /// RFC 7714 9.1: IV = (0x0000 || SSRC || 0x0000 || 0 || SRTCP index) XOR salt.
    @inline(__always)
    private func gcmRTCPIV(ssrc: UInt32, index: UInt32) {
        iv.update(from: rtcpSalt, count: 12)
        xor32(ssrc, at: 2)
        xor32(index, at: 8)
    }

    @inline(__always)
    private func xor32(_ value: UInt32, at offset: Int) { Self.xor32(value, into: iv, at: offset) }

    @inline(__always)
    private static func xor32(_ value: UInt32, into iv: UnsafeMutablePointer<UInt8>, at offset: Int) {
        iv[offset] ^= UInt8(truncatingIfNeeded: value >> 24)
        iv[offset + 1] ^= UInt8(truncatingIfNeeded: value >> 16)
        iv[offset + 2] ^= UInt8(truncatingIfNeeded: value >> 8)
        iv[offset + 3] ^= UInt8(truncatingIfNeeded: value)
    }

    /// HMAC-SHA1 of `bytes[0..<length]` followed by the 4 `trailer` bytes, if any, into `digest`.
    @inline(__always)
    private func hmac(inner: UnsafeMutableRawPointer, outer: UnsafeMutableRawPointer, _ bytes: UnsafePointer<UInt8>, _ length: Int,
                      trailer: UnsafePointer<UInt8>?) {
        let work = sha(4)
        work.copyMemory(from: inner, byteCount: shaSize)
        _ = sabha_sha1_update(work, bytes, length)
        if let trailer { _ = sabha_sha1_update(work, trailer, 4) }
        _ = sabha_sha1_final(digest, work)
        work.copyMemory(from: outer, byteCount: shaSize)
        _ = sabha_sha1_update(work, digest, 20)
        _ = sabha_sha1_final(digest, work)
    }
}
