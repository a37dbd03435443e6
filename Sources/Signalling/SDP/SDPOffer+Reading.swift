import MediaCore

extension SDPOffer {
    /// Checks a parsed offer for one intent; see `init(parsing:intent:)`.
    public init(session: SessionDescription, intent: SDPIntent) throws(SDPError) {
        let attributes = session.attributes
        if let lite = attributes.first(named: "ice-lite") {
            throw SDPError(.remoteICELite, line: lite.line, "the offerer is ICE-lite; we are ICE-lite too, so nobody would send connectivity checks")
        }
        var defaults = OfferedMediaReader.SessionDefaults(direction: nil, iceUfrag: nil, icePassword: nil, fingerprints: [], setup: nil)
        var bundleGroups: [(mids: [String], line: Int)] = []
        for attribute in attributes {
            switch attribute.name {
            case "sendrecv", "sendonly", "recvonly", "inactive":
                defaults.direction = SDPDirection(rawValue: attribute.name)
            case "ice-ufrag": try OfferedMediaReader.once(&defaults.iceUfrag, attribute)
            case "ice-pwd": try OfferedMediaReader.once(&defaults.icePassword, attribute)
            case "setup": try OfferedMediaReader.once(&defaults.setup, attribute)
            case "fingerprint": defaults.fingerprints.append(try OfferedMediaReader.fingerprint(attribute))
            case "group":
                let fields = (attribute.value ?? "").split(separator: " ", omittingEmptySubsequences: true)
                if fields.first == "BUNDLE" {
                    bundleGroups.append((fields.dropFirst().map(String.init), attribute.line))
                }
            default:
                break
            }
        }

        let reader = OfferedMediaReader(intent: intent, defaults: defaults)
        var media: [OfferedMedia] = []
        var transports: [OfferedMediaReader.Transport] = []
        var mids: Set<String> = []
        for section in session.media {
            let (offered, transport) = try reader.read(section)
            if !offered.mid.isEmpty && !mids.insert(offered.mid).inserted {
                throw SDPError(.duplicateMid, line: section.mediaLine.number, "a=mid:\(offered.mid) is used by an earlier m-line too")
            }
            media.append(offered)
            transports.append(transport)
        }

        let accepted = media.indices.filter { media[$0].accepted }
        guard !accepted.isEmpty else {
            let purpose = switch intent {
            case .publish: "to publish (WHIP needs a sendonly or sendrecv m-line with Opus or VP8)"
            case .subscribe: "to play (WHEP needs a recvonly or sendrecv m-line with Opus or VP8)"
            case .meeting: "(a meeting needs audio or video m-lines with Opus or VP8)"
            }
            let reasons = media.indices.map { index in
                let label = media[index].mid.isEmpty ? "" : " mid \(media[index].mid)"
                return "m-line \(index + 1) (\(media[index].mediaType)\(label)): \(media[index].rejectionReason ?? "rejected")"
            }
            throw SDPError(.noUsableMedia, "no m-line can be used \(purpose)" + (reasons.isEmpty ? "; the offer has no m-lines" : ": " + reasons.joined(separator: "; ")))
        }

        // Transport checks on every m-line we accept.
        var ice: (ufrag: String, password: String)?
        var setupRole: String?
        var fingerprints: [DTLSFingerprint] = []
        for index in accepted {
            let section = session.media[index]
            let transport = transports[index]
            let mLine = section.mediaLine.number
            let label = "the \(media[index].mediaType) m-line"
            guard !media[index].mid.isEmpty else {
                throw SDPError(.missingMid, line: mLine, "\(label) has no a=mid; Unified Plan with BUNDLE needs one on every m-line")
            }
            guard transport.rtcpMux else {
                throw SDPError(.missingRTCPMux, line: mLine, "\(label) (mid \(media[index].mid)) lacks a=rtcp-mux; RTP and RTCP must share one port")
            }
            guard let ufrag = transport.iceUfrag, let password = transport.icePassword else {
                throw SDPError(.missingICECredentials, line: mLine, "\(label) (mid \(media[index].mid)) has no a=ice-ufrag/a=ice-pwd, neither on the m-line nor at session level")
            }
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
            guard !transport.fingerprints.isEmpty else {
                throw SDPError(.missingFingerprint, line: mLine, "\(label) (mid \(media[index].mid)) has no a=fingerprint, neither on the m-line nor at session level")
            }
            for fingerprint in transport.fingerprints where !fingerprints.contains(fingerprint) {
                fingerprints.append(fingerprint)
            }
            if let setup = transport.setup {
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
        }

        let acceptedMids = accepted.map { media[$0].mid }
        let group = bundleGroups.first { group in acceptedMids.allSatisfy(group.mids.contains) }
        if acceptedMids.count > 1 && group == nil {
            let why = bundleGroups.isEmpty
                ? "the offer has no a=group:BUNDLE; all \(acceptedMids.count) usable m-lines must share one transport"
                : "no a=group:BUNDLE holds all usable mids (\(acceptedMids.joined(separator: " "))); they must share one transport"
            throw SDPError(.missingBundle, line: bundleGroups.first?.line, why)
        }

        self.intent = intent
        self.iceUfrag = ice?.ufrag ?? ""
        self.icePassword = ice?.password ?? ""
        self.fingerprints = fingerprints
        self.media = media
        self.bundle = group == nil ? [] : acceptedMids
        self.session = session
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
