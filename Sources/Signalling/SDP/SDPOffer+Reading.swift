import MediaCore

extension SDPOffer {
    /// Checks a parsed offer for one intent; see `init(parsing:intent:)`.
    public init(session: SessionDescription, intent: SDPIntent) throws(SDPError) {
        if let lite = session.attributes.first(named: "ice-lite") {
            throw SDPError(.remoteICELite, line: lite.line, "the offerer is ICE-lite; we are ICE-lite too, so nobody would send connectivity checks")
        }
        let defaults = try SDPSessionAttributes(session.attributes)
        let reader = OfferedMediaReader(intent: intent, defaults: defaults)
        var media: [OfferedMedia] = []
        var transports: [SDPTransportAttributes] = []
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
        guard !accepted.isEmpty else { throw Self.noUsableMedia(media, intent: intent) }
        var bundle = SDPBundleTransport()
        for index in accepted {
            try bundle.add(transports[index], of: media[index], mLine: session.media[index].mediaLine.number)
        }
        let acceptedMids = accepted.map { media[$0].mid }
        let grouped = try Self.bundleGroup(of: acceptedMids, among: defaults.bundleGroups)

        self.intent = intent
        self.iceUfrag = bundle.ice?.ufrag ?? ""
        self.icePassword = bundle.ice?.password ?? ""
        self.fingerprints = bundle.fingerprints
        self.media = media
        self.bundle = grouped ? acceptedMids : []
        self.session = session
    }

    /// Every m-line was rejected: say why for each.
    private static func noUsableMedia(_ media: [OfferedMedia], intent: SDPIntent) -> SDPError {
        let purpose = switch intent {
        case .publish: "to publish (WHIP needs a sendonly or sendrecv m-line with Opus or VP8)"
        case .subscribe: "to play (WHEP needs a recvonly or sendrecv m-line with Opus or VP8)"
        case .meeting: "(a meeting needs audio or video m-lines with Opus or VP8)"
        }
        let reasons = media.indices.map { index in
            let label = media[index].mid.isEmpty ? "" : " mid \(media[index].mid)"
            return "m-line \(index + 1) (\(media[index].mediaType)\(label)): \(media[index].rejectionReason ?? "rejected")"
        }
        return SDPError(.noUsableMedia, "no m-line can be used \(purpose)" + (reasons.isEmpty ? "; the offer has no m-lines" : ": " + reasons.joined(separator: "; ")))
    }

    /// Whether an a=group:BUNDLE holds all accepted mids; several accepted m-lines must be bundled.
    private static func bundleGroup(of mids: [String], among groups: [(mids: [String], line: Int)]) throws(SDPError) -> Bool {
        let group = groups.first { group in mids.allSatisfy(group.mids.contains) }
        if mids.count > 1 && group == nil {
            let why = groups.isEmpty
                ? "the offer has no a=group:BUNDLE; all \(mids.count) usable m-lines must share one transport"
                : "no a=group:BUNDLE holds all usable mids (\(mids.joined(separator: " "))); they must share one transport"
            throw SDPError(.missingBundle, line: groups.first?.line, why)
        }
        return group != nil
    }
}
