import CSRTP

/// Result of one SRTP/SRTCP packet operation. The packet path counts these, it never throws.
public enum SRTPStatus: Sendable, Hashable {
    case ok
    /// The authentication tag did not match: forged, corrupted or keyed for someone else.
    case authFailed
    /// Already seen, or older than the replay window (RFC 3711 section 3.3.2).
    case replayed
    /// Too short or not a valid RTP/RTCP header.
    case badParameter
    /// `SRTPContext` only: its fixed table of SSRCs is full, the packet's new SSRC has no room.
    case streamTableFull
    /// Any other libsrtp status, raw (`SRTPContext` returns `.other(15)`, libsrtp's key_expired, when
    /// the 31-bit SRTCP index is used up).
    case other(Int32)

    init(_ status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_ok: self = .ok
        case srtp_err_status_auth_fail: self = .authFailed
        case srtp_err_status_replay_fail, srtp_err_status_replay_old: self = .replayed
        case srtp_err_status_bad_param: self = .badParameter
        default: self = .other(Int32(bitPattern: status.rawValue))
        }
    }
}

/// Whether a session protects what we send or unprotects what we receive.
public enum SRTPDirection: Sendable, Hashable {
    /// Unprotects the peer's packets, any SSRC (libsrtp ssrc_any_inbound).
    case inbound
    /// Protects our packets, any SSRC (libsrtp ssrc_any_outbound).
    case outbound
}

/// One libsrtp session for one direction of one transport: SRTP and SRTCP with the keys
/// exported from DTLS (RFC 3711, RFC 7714 for AEAD_AES_128_GCM).
///
/// The packet calls work in place on the caller's buffer and neither allocate nor throw,
/// except that libsrtp sets up a stream the first time it meets an SSRC.
/// Not Sendable: owned by the worker thread that owns the transport.
public final class SRTPSession {
    /// Bytes the caller must leave free after a packet for `protectRTP` / `protectRTCP`:
    /// the longest tag (16, AEAD_AES_128_GCM) plus the 4-byte SRTCP E flag and index.
    /// We never configure an MKI, so libsrtp writes no more than that.
    public static let maxTrailerLength = Int(SRTP_MAX_TAG_LEN) + 4

    /// Replay window in packets (RFC 3711 asks for at least 64; video bursts and NACK
    /// retransmissions reorder far more).
    public static let replayWindow = 1024

    public let profile: SRTPProfile
    public let direction: SRTPDirection
    /// `srtp_t`, owned.
    private let session: OpaquePointer

    /// `srtp_init` must run once per process before any session; a static let runs once,
    /// thread-safely, on first use.
    private static let libraryStatus: srtp_err_status_t = srtp_init()

    public init(profile: SRTPProfile, key: [UInt8], salt: [UInt8], direction: SRTPDirection) throws {
        guard key.count == profile.masterKeyLength, salt.count == profile.masterSaltLength else {
            throw MediaError.srtp("\(profile.rawValue) needs a \(profile.masterKeyLength)-byte key and a \(profile.masterSaltLength)-byte salt, got \(key.count) and \(salt.count)")
        }
        let initStatus = Self.libraryStatus
        guard initStatus == srtp_err_status_ok else {
            throw MediaError.srtp("srtp_init failed with status \(initStatus.rawValue)")
        }

        var policy = srtp_policy_t()
        switch profile {
        case .aes128CMHMACSHA1_80:
            // The "default" policies are AES_CM_128_HMAC_SHA1_80 (the named setter is a C macro).
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        switch direction {
        case .inbound:
            policy.ssrc.type = ssrc_any_inbound
            policy.allow_repeat_tx = 0
        case .outbound:
            policy.ssrc.type = ssrc_any_outbound
            // NACK answers resend a packet with its original sequence number.
            policy.allow_repeat_tx = 1
        }
        policy.window_size = UInt(Self.replayWindow)
        policy.next = nil

        // libsrtp takes key || salt and derives the session keys inside srtp_create; it keeps
        // no pointer to the master key afterwards.
        var master = key + salt
        var created: OpaquePointer? = nil
        let status = master.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        for index in master.indices { master[index] = 0 }
        guard status == srtp_err_status_ok, let created else {
            throw MediaError.srtp("srtp_create failed with status \(status.rawValue)")
        }
        self.profile = profile
        self.direction = direction
        self.session = created
    }

    deinit {
        srtp_dealloc(session)
    }

    /// Encrypts and authenticates an RTP packet in place; `length` grows by the tag.
    /// The buffer must have `maxTrailerLength` bytes of room after `length`.
    public func protectRTP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 12, length <= Int(Int32.max) - Self.maxTrailerLength else { return .badParameter }
        var cLength = Int32(length)
        let status = SRTPStatus(srtp_protect(session, packet, &cLength))
        if status == .ok { length = Int(cLength) }
        return status
    }

    /// Checks and decrypts an SRTP packet in place; `length` shrinks by the tag.
    public func unprotectRTP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 12, length <= Int(Int32.max) else { return .badParameter }
        var cLength = Int32(length)
        let status = SRTPStatus(srtp_unprotect(session, packet, &cLength))
        if status == .ok { length = Int(cLength) }
        return status
    }

    /// Encrypts and authenticates an RTCP compound packet in place, appending the SRTCP index
    /// and tag. The buffer must have `maxTrailerLength` bytes of room after `length`.
    public func protectRTCP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 8, length <= Int(Int32.max) - Self.maxTrailerLength else { return .badParameter }
        var cLength = Int32(length)
        let status = SRTPStatus(srtp_protect_rtcp(session, packet, &cLength))
        if status == .ok { length = Int(cLength) }
        return status
    }

    /// Checks and decrypts an SRTCP packet in place; `length` shrinks to the RTCP compound.
    public func unprotectRTCP(_ packet: UnsafeMutableRawPointer, length: inout Int) -> SRTPStatus {
        guard length >= 8, length <= Int(Int32.max) else { return .badParameter }
        var cLength = Int32(length)
        let status = SRTPStatus(srtp_unprotect_rtcp(session, packet, &cLength))
        if status == .ok { length = Int(cLength) }
        return status
    }
}
