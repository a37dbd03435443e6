/// SRTP master keys and salts exported from a DTLS association (RFC 5764 section 4.2).
///
/// "local" is what we protect our outgoing packets with; "remote" what we unprotect the
/// peer's packets with. Both sides of one association hold mirrored values.
public struct SRTPKeyingMaterial: Sendable, Hashable {
    public var profile: SRTPProfile
    public var localKey: [UInt8]
    public var localSalt: [UInt8]
    public var remoteKey: [UInt8]
    public var remoteSalt: [UInt8]

    public init(profile: SRTPProfile, localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) {
        self.profile = profile
        self.localKey = localKey
        self.localSalt = localSalt
        self.remoteKey = remoteKey
        self.remoteSalt = remoteSalt
    }
}

extension SRTPProfile {
    /// Master key length in bytes (RFC 5764 section 4.1.2, RFC 7714 section 14.2).
    public var masterKeyLength: Int { 16 }

    /// Master salt length in bytes: 112 bits for AES-CM, 96 bits for AEAD (RFC 7714 section 12).
    public var masterSaltLength: Int {
        switch self {
        case .aes128CMHMACSHA1_80: return 14
        case .aeadAES128GCM: return 12
        }
    }

    /// The use_srtp protection profile id (IANA "DTLS-SRTP Protection Profiles").
    var dtlsProfileID: UInt {
        switch self {
        case .aes128CMHMACSHA1_80: return 0x0001
        case .aeadAES128GCM: return 0x0007
        }
    }

    init?(dtlsProfileID: UInt) {
        switch dtlsProfileID {
        case 0x0001: self = .aes128CMHMACSHA1_80
        case 0x0007: self = .aeadAES128GCM
        default: return nil
        }
    }
}
