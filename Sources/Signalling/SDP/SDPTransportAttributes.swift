import MediaCore

/// The ICE and DTLS attributes of one level, session or m-section: a=ice-ufrag and a=ice-pwd (RFC 8839 §5.4),
/// a=fingerprint (RFC 8122 §5) and a=setup (RFC 4145 §4). An m-section's own take precedence over the session's.
struct SDPTransportAttributes: Sendable {
    var iceUfrag: SDPAttribute?
    var icePassword: SDPAttribute?
    var fingerprints: [DTLSFingerprint] = []
    var setup: SDPAttribute?
    /// a=rtcp-mux (RFC 5761 §5.1.3): only an m-section's own counts.
    var rtcpMux = false

    /// Takes `attribute` when it is one of these (each single-valued one once); false when it is another.
    mutating func read(_ attribute: SDPAttribute) throws(SDPError) -> Bool {
        switch attribute.name {
        case "ice-ufrag": try iceUfrag.setOnce(attribute)
        case "ice-pwd": try icePassword.setOnce(attribute)
        case "setup": try setup.setOnce(attribute)
        case "fingerprint": fingerprints.append(try DTLSFingerprint(sdp: attribute))
        case "rtcp-mux": rtcpMux = true
        default: return false
        }
        return true
    }

    /// What is in force on an m-section with these attributes: its own, else the session level's.
    func falling(back session: SDPTransportAttributes) -> SDPTransportAttributes {
        SDPTransportAttributes(iceUfrag: iceUfrag ?? session.iceUfrag, icePassword: icePassword ?? session.icePassword,
                               fingerprints: fingerprints.isEmpty ? session.fingerprints : fingerprints,
                               setup: setup ?? session.setup, rtcpMux: rtcpMux)
    }
}
