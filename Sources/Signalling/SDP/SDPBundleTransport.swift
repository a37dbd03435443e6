import MediaCore

/// The one transport every accepted m-line of an offer shares (RFC 8843 BUNDLE): each has a mid, rtcp-mux, ICE
/// credentials and a fingerprint, all the same ICE credentials and DTLS role (actpass or active: we answer passive).
struct SDPBundleTransport {
    private(set) var ice: (ufrag: String, password: String)?
    private(set) var setupRole: String?
    /// Every fingerprint offered on an accepted m-line, once.
    private(set) var fingerprints: [DTLSFingerprint] = []

    /// Checks one accepted m-line's transport and adds it.
    mutating func add(_ transport: SDPTransportAttributes, of media: OfferedMedia, mLine: Int) throws(SDPError) {
        let label = "the \(media.mediaType) m-line"
        guard !media.mid.isEmpty else {
            throw SDPError(.missingMid, line: mLine, "\(label) has no a=mid; Unified Plan with BUNDLE needs one on every m-line")
        }
        guard transport.rtcpMux else {
            throw SDPError(.missingRTCPMux, line: mLine, "\(label) (mid \(media.mid)) lacks a=rtcp-mux; RTP and RTCP must share one port")
        }
        guard let ufrag = transport.iceUfrag, let password = transport.icePassword else {
            throw SDPError(.missingICECredentials, line: mLine, "\(label) (mid \(media.mid)) has no a=ice-ufrag/a=ice-pwd, neither on the m-line nor at session level")
        }
        try addICE(ufrag: ufrag, password: password)
        guard !transport.fingerprints.isEmpty else {
            throw SDPError(.missingFingerprint, line: mLine, "\(label) (mid \(media.mid)) has no a=fingerprint, neither on the m-line nor at session level")
        }
        for fingerprint in transport.fingerprints where !fingerprints.contains(fingerprint) {
            fingerprints.append(fingerprint)
        }
        if let setup = transport.setup { try addSetup(setup) }
    }

    private mutating func addICE(ufrag: SDPAttribute, password: SDPAttribute) throws(SDPError) {
        let ufragValue = ufrag.value ?? ""
        let passwordValue = password.value ?? ""
        guard Self.isICECredential(ufragValue, minimumLength: 4) else {
            throw SDPError(.invalidICECredentials, line: ufrag.line, "a=ice-ufrag must be 4 to 256 characters of letters, digits, '+' and '/' (RFC 8839)")
        }
        guard Self.isICECredential(passwordValue, minimumLength: 22) else {
            throw SDPError(.invalidICECredentials, line: password.line, "a=ice-pwd must be 22 to 256 characters of letters, digits, '+' and '/' (RFC 8839)")
        }
        if let ice, ice != (ufragValue, passwordValue) {
            throw SDPError(.conflictingTransport, line: ufrag.line, "bundled m-lines carry different ICE credentials; one BUNDLE transport has one ufrag and password")
        }
        ice = (ufragValue, passwordValue)
    }

    private mutating func addSetup(_ setup: SDPAttribute) throws(SDPError) {
        let role = setup.value ?? ""
        guard role == "actpass" || role == "active" else {
            let why = role == "passive"
                ? "a=setup:passive would make us the DTLS client; we answer only as a=setup:passive, so offer actpass or active"
                : "a=setup:\(role) is not usable; offer a=setup:actpass or a=setup:active"
            throw SDPError(.unsupportedSetup, line: setup.line, why)
        }
        if let setupRole, setupRole != role {
            throw SDPError(.conflictingTransport, line: setup.line, "bundled m-lines ask for different DTLS roles (\(setupRole) and \(role))")
        }
        setupRole = role
    }

    /// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4), at most 256 characters.
    static func isICECredential(_ text: String, minimumLength: Int) -> Bool {
        let utf8 = text.utf8
        return utf8.count >= minimumLength && utf8.count <= 256 && utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }
}
