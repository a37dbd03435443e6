import MediaCore

/// Reads one m-section of an offer into an `OfferedMedia`, and collects the transport attributes in
/// force on it (media level first, then session level). Throws on lines that break their grammar
/// and on Plan B; policy checks that depend on the whole offer are in `SDPOffer+Reading.swift`.
struct OfferedMediaReader {
    /// What the session level says, used where an m-section is silent.
    struct SessionDefaults {
        var direction: SDPDirection?
        var iceUfrag: SDPAttribute?
        var icePassword: SDPAttribute?
        var fingerprints: [DTLSFingerprint]
        var setup: SDPAttribute?
    }

    /// Transport attributes in force on one m-line.
    struct Transport {
        var iceUfrag: SDPAttribute?
        var icePassword: SDPAttribute?
        var fingerprints: [DTLSFingerprint]
        var setup: SDPAttribute?
        var rtcpMux: Bool
    }

    private struct RTPMap {
        var name: String
        var clockRate: UInt32
        var channels: Substring?
    }

    static let dtlsSRTPProtocol = "UDP/TLS/RTP/SAVPF"
    /// rtcp-fb values we can honour for VP8: RFC 4585 NACK, PLI, RFC 5104 FIR, REMB and transport-cc.
    static let videoFeedback: [String: RTCPFeedbackSet] = [
        "nack": .nack, "nack pli": .pli, "ccm fir": .fir, "goog-remb": .remb, "transport-cc": .transportCC,
    ]
    /// rtcp-fb values we can honour for Opus: transport-cc only.
    static let audioFeedback: [String: RTCPFeedbackSet] = ["transport-cc": .transportCC]
    /// At most this many simulcast encodings are taken from an offer; further streams are not answered.
    static let maximumSimulcastLayers = 3

    let intent: SDPIntent
    let defaults: SessionDefaults

    func read(_ section: SDPMediaSection) throws(SDPError) -> (media: OfferedMedia, transport: Transport) {
        let mLine = section.mediaLine.number
        var mid: SDPAttribute?
        var direction: SDPDirection?
        var rtpmaps: [UInt8: RTPMap] = [:]
        var fmtp: [String: String] = [:]
        var feedback: [(format: Substring, value: String)] = []
        var extmaps: [SDPExtmap] = []
        var ssrcs: [UInt32] = []
        var knownSSRCs: Set<UInt32> = []
        var ssrcMSIDs: Set<SDPMediaStreamID> = []
        var repairSSRCs: Set<UInt32> = []
        /// a=ssrc-group:FID media → repair SSRC (RFC 5576 §4, RFC 4588 §8.3).
        var repairOf: [UInt32: UInt32] = [:]
        var hasSimulcastGroup = false
        /// Members of the first a=ssrc-group:SIM, as listed (legacy simulcast, lowest layer first).
        var simulcastGroup: [UInt32] = []
        var msids: [SDPMediaStreamID] = []
        var rids: [SDPRID] = []
        var simulcast: SDPSimulcast?
        var rtcpMux = false
        var reducedSize = false
        var bundleOnly = false
        var iceUfrag: SDPAttribute?
        var icePassword: SDPAttribute?
        var setup: SDPAttribute?
        var fingerprints: [DTLSFingerprint] = []

        for attribute in section.attributes {
            let line = attribute.line
            switch attribute.name {
            case "rtcp-mux": rtcpMux = true
            case "rtcp-rsize": reducedSize = true
            case "bundle-only": bundleOnly = true
            case "sendrecv", "sendonly", "recvonly", "inactive":
                let value = SDPDirection(rawValue: attribute.name)!
                if let direction, direction != value {
                    throw .malformed(line: line, "a=\(value) contradicts the earlier a=\(direction)")
                }
                direction = value
            case "mid":
                try Self.once(&mid, attribute)
                let value = try Self.value(of: attribute)
                guard Self.isToken(value), value.utf8.count <= 255 else {
                    throw .malformed(line: line, "a=mid \"\(value)\" must be a token of at most 255 bytes (RFC 8843)")
                }
            case "ice-ufrag": try Self.once(&iceUfrag, attribute)
            case "ice-pwd": try Self.once(&icePassword, attribute)
            case "setup": try Self.once(&setup, attribute)
            case "fingerprint": fingerprints.append(try Self.fingerprint(attribute))
            case "rtpmap":
                let value = try Self.value(of: attribute)
                let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                let encoding = fields.count == 2 ? fields[1].split(separator: "/", omittingEmptySubsequences: false) : []
                guard fields.count == 2, let pt = UInt8(fields[0]), pt <= 127,
                      encoding.count == 2 || encoding.count == 3, !encoding[0].isEmpty,
                      let clockRate = UInt32(encoding[1]) else {
                    throw .malformed(line: line, "a=rtpmap is a=rtpmap:<payload type 0-127> <name>/<clock rate>[/<channels>]")
                }
                guard rtpmaps[pt] == nil else {
                    throw .malformed(line: line, "payload type \(pt) has a second a=rtpmap")
                }
                rtpmaps[pt] = RTPMap(name: String(encoding[0]), clockRate: clockRate, channels: encoding.count == 3 ? encoding[2] : nil)
            case "fmtp":
                let value = try Self.value(of: attribute)
                let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard let format = fields.first else {
                    throw .malformed(line: line, "a=fmtp is a=fmtp:<format> <parameters>")
                }
                if fmtp[String(format)] == nil {
                    fmtp[String(format)] = fields.count == 2 ? String(fields[1]) : ""
                }
            case "rtcp-fb":
                let value = try Self.value(of: attribute)
                let fields = value.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2 else {
                    throw .malformed(line: line, "a=rtcp-fb is a=rtcp-fb:<payload type or *> <type> [<parameter>]")
                }
                feedback.append((fields[0], fields[1...].joined(separator: " ")))
            case "extmap":
                let extmap = try SDPExtmap(parsing: try Self.value(of: attribute), line: line)
                if let other = extmaps.first(where: { $0.id == extmap.id }) {
                    guard other.uri == extmap.uri else {
                        throw .malformed(line: line, "extension id \(extmap.id) is already mapped to \(other.uri)")
                    }
                    continue
                }
                extmaps.append(extmap)
            case "ssrc":
                let value = try Self.value(of: attribute)
                let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard let ssrc = fields.first.flatMap({ UInt32($0) }) else {
                    throw .malformed(line: line, "a=ssrc is a=ssrc:<32-bit ssrc> <attribute>[:<value>]")
                }
                if knownSSRCs.insert(ssrc).inserted { ssrcs.append(ssrc) }
                if fields.count == 2, fields[1].hasPrefix("msid:") {
                    ssrcMSIDs.insert(try SDPMediaStreamID(parsing: fields[1].dropFirst(5), line: line))
                }
            case "ssrc-group":
                let value = try Self.value(of: attribute)
                let fields = value.split(separator: " ", omittingEmptySubsequences: true)
                var members: [UInt32] = []
                for field in fields.dropFirst() {
                    guard let ssrc = UInt32(field) else {
                        throw .malformed(line: line, "a=ssrc-group member \"\(field)\" is not a 32-bit SSRC")
                    }
                    members.append(ssrc)
                }
                guard let semantics = fields.first, !members.isEmpty else {
                    throw .malformed(line: line, "a=ssrc-group is a=ssrc-group:<semantics> <ssrc> ...")
                }
                switch semantics {
                case "FID", "FEC-FR":
                    guard members.count >= 2 else {
                        throw .malformed(line: line, "a=ssrc-group:\(semantics) needs a media SSRC and its repair SSRC")
                    }
                    repairSSRCs.formUnion(members.dropFirst())
                    if semantics == "FID", repairOf[members[0]] == nil { repairOf[members[0]] = members[1] }
                case "SIM":
                    if !hasSimulcastGroup { simulcastGroup = members }
                    hasSimulcastGroup = true
                default:
                    break
                }
            case "msid":
                let msid = try SDPMediaStreamID(parsing: Substring(try Self.value(of: attribute)), line: line)
                if !msids.contains(msid) { msids.append(msid) }
            case "rid":
                rids.append(try SDPRID(parsing: try Self.value(of: attribute), line: line))
            case "simulcast":
                guard simulcast == nil else {
                    throw .malformed(line: line, "a second a=simulcast in one m-line")
                }
                simulcast = try SDPSimulcast(parsing: try Self.value(of: attribute), line: line)
            default:
                break
            }
        }

        let kind = MediaKind(rawValue: section.media)
        // RFC 8843 §7.2.1: port 0 with a=bundle-only is a live m-line that rides on the BUNDLE transport.
        let disabled = section.port == 0 && !bundleOnly
        let primarySSRCs = ssrcs.filter { !repairSSRCs.contains($0) }
        if kind != nil && !disabled {
            // Unified Plan (RFC 8829): one media source per m-line.
            if msids.count > 1 {
                throw SDPError(.notUnifiedPlan, line: mLine, "the m-line carries \(msids.count) different a=msid tracks; this is Plan B, offer Unified Plan (one track per m-line)")
            }
            if ssrcMSIDs.count > 1 {
                throw SDPError(.notUnifiedPlan, line: mLine, "the m-line's a=ssrc lines name \(ssrcMSIDs.count) different tracks; this is Plan B, offer Unified Plan (one track per m-line)")
            }
            if primarySSRCs.count > 1 && rids.isEmpty && simulcast == nil && !hasSimulcastGroup {
                throw SDPError(.notUnifiedPlan, line: mLine, "the m-line announces \(primarySSRCs.count) media SSRCs that are neither repair streams nor simulcast; this is Plan B, offer Unified Plan")
            }
        }

        var media = OfferedMedia(
            mid: mid?.value ?? "",
            kind: kind,
            accepted: false,
            payloadType: section.formats.first.flatMap { UInt8($0) }.flatMap { $0 <= 127 ? $0 : nil } ?? 0,
            codecName: "",
            clockRate: 0,
            ssrcs: primarySSRCs,
            extensions: HeaderExtensionIDs()
        )
        media.direction = direction ?? defaults.direction ?? .sendrecv
        media.mediaType = section.media
        media.transportProtocol = section.transportProtocol
        media.formats = section.formats
        media.extmaps = extmaps
        media.offeredExtensions = Self.understood(extmaps)
        media.reducedSizeRTCP = reducedSize
        media.mediaStreamID = msids.first ?? ssrcMSIDs.first
        media.rids = rids
        media.simulcast = simulcast

        let transport = Transport(
            iceUfrag: iceUfrag ?? defaults.iceUfrag,
            icePassword: icePassword ?? defaults.icePassword,
            fingerprints: fingerprints.isEmpty ? defaults.fingerprints : fingerprints,
            setup: setup ?? defaults.setup,
            rtcpMux: rtcpMux
        )

        // Usable for this intent?
        guard !disabled else {
            media.rejectionReason = "port 0: the offerer disabled this m-line"
            return (media, transport)
        }
        guard let kind else {
            media.rejectionReason = section.media == "application"
                ? "data channels (application m-lines) are not supported"
                : "media type \"\(section.media)\" is not supported"
            return (media, transport)
        }
        guard section.transportProtocol == Self.dtlsSRTPProtocol else {
            media.rejectionReason = "transport \(section.transportProtocol) is not \(Self.dtlsSRTPProtocol)"
            return (media, transport)
        }
        switch intent {
        case .publish where !media.direction.sends:
            media.rejectionReason = "the offerer is \(media.direction): WHIP publishing needs sendonly or sendrecv"
            return (media, transport)
        case .subscribe where !media.direction.receives:
            media.rejectionReason = "the offerer is \(media.direction): WHEP playback needs recvonly or sendrecv"
            return (media, transport)
        default:
            break
        }
        let codec = kind == .audio ? (name: "opus", clockRate: UInt32(48000)) : (name: "VP8", clockRate: UInt32(90000))
        var chosen: UInt8?
        for format in section.formats {
            guard let pt = UInt8(format), let map = rtpmaps[pt] else { continue }
            let channelsMatch = kind == .audio ? map.channels == "2" : (map.channels == nil || map.channels == "1")
            if map.name.lowercased() == codec.name.lowercased() && map.clockRate == codec.clockRate && channelsMatch {
                chosen = pt
                break
            }
        }
        guard let chosen else {
            media.rejectionReason = kind == .audio
                ? "no opus/48000/2 among the offered audio codecs; only Opus is forwarded"
                : "no VP8/90000 among the offered video codecs; only VP8 is forwarded"
            return (media, transport)
        }

        media.accepted = true
        media.payloadType = chosen
        media.codecName = codec.name
        media.clockRate = codec.clockRate
        media.codecParameters = fmtp[String(chosen)]
        media.extensions = Self.echoed(extmaps, kind: kind, intent: intent == .meeting ? (media.direction.sends ? .publish : .subscribe) : intent)

        // rtcp-fb for the chosen payload type; transport-cc only when its header extension is echoed too.
        let honoured = kind == .audio ? Self.audioFeedback : Self.videoFeedback
        for entry in feedback where entry.format == "*" || UInt8(entry.format) == chosen {
            guard let flag = honoured[entry.value], !media.rtcpFeedback.contains(entry.value) else { continue }
            if flag == .transportCC && media.extensions.transportWideCC == 0 { continue }
            media.rtcpFeedback.append(entry.value)
            media.feedback.insert(flag)
        }

        // RTX (RFC 4588 §8.6): an offered rtx/90000 whose apt is the VP8 payload type.
        if kind == .video {
            for format in section.formats {
                guard let pt = UInt8(format), pt != chosen, let map = rtpmaps[pt], map.name.lowercased() == "rtx",
                      map.clockRate == codec.clockRate, Self.associatedPayloadType(fmtp[format]) == chosen else { continue }
                media.rtxPayloadType = pt
                break
            }
        }

        // Simulcast (RFC 8853, RFC 8851) or legacy a=ssrc-group:SIM, for the m-lines that publish to us.
        let publishes = intent == .publish || (intent == .meeting && media.direction.sends)
        if publishes && kind == .video {
            if let simulcast, !simulcast.send.isEmpty {
                let (answered, encodings) = try Self.simulcastLayers(simulcast, rids: rids, payloadType: chosen, line: mLine)
                media.simulcastRIDs = answered
                media.encodings = encodings
            } else if hasSimulcastGroup {
                media.encodings = simulcastGroup.prefix(Self.maximumSimulcastLayers).map {
                    ProducerEncoding(rid: "", ssrc: $0, rtxSSRC: repairOf[$0])
                }
            }
        }
        if media.encodings.isEmpty, primarySSRCs.count == 1 {
            media.rtxSSRC = repairOf[primarySSRCs[0]]
        }
        return (media, transport)
    }

    // MARK: - Simulcast

    /// The rids we answer (offer order) and the encodings they become (lowest spatial layer first).
    ///
    /// Each `a=simulcast:send` stream takes its first alternative that is not paused ("~"), has an
    /// `a=rid:<id> send` line and allows our payload type; streams with none are not answered, and
    /// only the first `maximumSimulcastLayers` streams are. Order of the encodings:
    /// 1. every rid is one of q, h, f (what browsers and our client use) → q, h, f;
    /// 2. otherwise, every rid restricts max-height or max-width → ascending by that size;
    /// 3. otherwise the a=simulcast order, taken as lowest first: browsers list rids in the order the
    ///    sender gave its sendEncodings, and WebRTC applications give them lowest first.
    static func simulcastLayers(_ simulcast: SDPSimulcast, rids: [SDPRID], payloadType: UInt8, line: Int) throws(SDPError) -> (rids: [String], encodings: [ProducerEncoding]) {
        var sending: [String: SDPRID] = [:]
        for rid in rids where rid.direction == .send {
            guard sending.updateValue(rid, forKey: rid.id) == nil else {
                throw SDPError(.invalidSimulcast, line: line, "a=rid:\(rid.id) send appears twice in the m-line")
            }
        }
        var seen: Set<String> = []
        for stream in simulcast.send {
            for alternative in stream {
                guard sending[alternative.rid] != nil else {
                    throw SDPError(.invalidSimulcast, line: line, "a=simulcast names rid \"\(alternative.rid)\" but the m-line has no a=rid:\(alternative.rid) send (RFC 8853 §5.1)")
                }
                guard seen.insert(alternative.rid).inserted else {
                    throw SDPError(.invalidSimulcast, line: line, "a=simulcast names rid \"\(alternative.rid)\" twice")
                }
            }
        }
        var chosen: [SDPRID] = []
        for stream in simulcast.send where chosen.count < maximumSimulcastLayers {
            let usable = stream.first { alternative in
                guard !alternative.paused, let rid = sending[alternative.rid] else { return false }
                return rid.payloadTypes.isEmpty || rid.payloadTypes.contains(String(payloadType))
            }
            if let usable, let rid = sending[usable.rid] { chosen.append(rid) }
        }
        let answered = chosen.map(\.id)
        let ladder = ["q", "h", "f"]
        let ordered: [SDPRID]
        if chosen.allSatisfy({ ladder.contains($0.id) }) {
            ordered = chosen.sorted { ladder.firstIndex(of: $0.id)! < ladder.firstIndex(of: $1.id)! }
        } else if chosen.allSatisfy({ size(of: $0) != nil }) {
            ordered = chosen.enumerated().sorted { (size(of: $0.element)!, $0.offset) < (size(of: $1.element)!, $1.offset) }.map(\.element)
        } else {
            ordered = chosen
        }
        return (answered, ordered.map { ProducerEncoding(rid: $0.id) })
    }

    /// max-height, else max-width, of an a=rid line (RFC 8851 §5).
    private static func size(of rid: SDPRID) -> Int? {
        rid.restrictions["max-height"].flatMap { Int($0) } ?? rid.restrictions["max-width"].flatMap { Int($0) }
    }

    /// The `apt=` of an rtx a=fmtp (RFC 4588 §8.6).
    static func associatedPayloadType(_ parameters: String?) -> UInt8? {
        guard let parameters else { return nil }
        for parameter in parameters.split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].filter({ $0 != " " }) == "apt" {
                return UInt8(pair[1].filter { $0 != " " })
            }
        }
        return nil
    }

    // MARK: - Extensions

    /// Every id the offer maps to a URI we understand; the first mapping of a URI wins.
    static func understood(_ extmaps: [SDPExtmap]) -> HeaderExtensionIDs {
        var ids = HeaderExtensionIDs()
        for extmap in extmaps {
            set(&ids, uri: extmap.uri, id: extmap.id)
        }
        return ids
    }

    /// The ids we answer: publish → mid, rid, repairedRid, audioLevel (audio), transport-wide-cc;
    /// subscribe → mid, transport-wide-cc.
    /// The offerer must send them (publish) or receive them (subscribe), and they must fit a one-byte header.
    static func echoed(_ extmaps: [SDPExtmap], kind: MediaKind, intent: SDPIntent) -> HeaderExtensionIDs {
        var ids = HeaderExtensionIDs()
        for extmap in extmaps where extmap.id <= 14 {
            let direction = extmap.direction ?? .sendrecv
            switch intent {
            case .publish:
                guard direction.sends else { continue }
                switch extmap.uri {
                case SDPHeaderExtensionURI.mid, SDPHeaderExtensionURI.rid, SDPHeaderExtensionURI.repairedRid,
                     SDPHeaderExtensionURI.transportWideCC:
                    set(&ids, uri: extmap.uri, id: extmap.id)
                case SDPHeaderExtensionURI.audioLevel where kind == .audio:
                    set(&ids, uri: extmap.uri, id: extmap.id)
                default:
                    continue
                }
            case .subscribe, .meeting:
                guard direction.receives,
                      extmap.uri == SDPHeaderExtensionURI.mid || extmap.uri == SDPHeaderExtensionURI.transportWideCC else { continue }
                set(&ids, uri: extmap.uri, id: extmap.id)
            }
        }
        return ids
    }

    private static func set(_ ids: inout HeaderExtensionIDs, uri: String, id: UInt8) {
        switch uri {
        case SDPHeaderExtensionURI.mid where ids.mid == 0: ids.mid = id
        case SDPHeaderExtensionURI.rid where ids.rid == 0: ids.rid = id
        case SDPHeaderExtensionURI.repairedRid where ids.repairedRid == 0: ids.repairedRid = id
        case SDPHeaderExtensionURI.audioLevel where ids.audioLevel == 0: ids.audioLevel = id
        case SDPHeaderExtensionURI.absSendTime where ids.absSendTime == 0: ids.absSendTime = id
        case SDPHeaderExtensionURI.transportWideCC where ids.transportWideCC == 0: ids.transportWideCC = id
        default: break
        }
    }

    // MARK: - Attribute helpers

    static func value(of attribute: SDPAttribute) throws(SDPError) -> String {
        guard let value = attribute.value, !value.isEmpty else {
            throw .malformed(line: attribute.line, "a=\(attribute.name) needs a value")
        }
        return value
    }

    /// Single-valued attributes (mid, ice-ufrag, setup, ...) may appear once per level.
    static func once(_ slot: inout SDPAttribute?, _ attribute: SDPAttribute) throws(SDPError) {
        guard slot == nil else {
            throw .malformed(line: attribute.line, "a=\(attribute.name) appears twice at the same level")
        }
        slot = attribute
    }

    /// `a=fingerprint:<hash function> <XX:XX:...>` (RFC 8122 §5).
    static func fingerprint(_ attribute: SDPAttribute) throws(SDPError) -> DTLSFingerprint {
        let fields = (attribute.value ?? "").split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, isToken(fields[0]) else {
            throw SDPError(.invalidFingerprint, line: attribute.line, "a=fingerprint is a=fingerprint:<hash function> <hex bytes separated by colons>")
        }
        // HH(:HH)*, 16 to 64 bytes: every third character is a colon, the others hex digits.
        var count = 0
        var wellFormed = true
        for (offset, character) in fields[1].utf8.enumerated() {
            wellFormed = wellFormed && (offset % 3 == 2 ? character == UInt8(ascii: ":") : character.isHexDigit)
            count = offset + 1
        }
        let byteCount = (count + 1) / 3
        guard wellFormed, count % 3 == 2, byteCount >= 16, byteCount <= 64 else {
            throw SDPError(.invalidFingerprint, line: attribute.line, "a=fingerprint value must be 16 to 64 hex bytes separated by colons")
        }
        return DTLSFingerprint(algorithm: String(fields[0]), value: String(fields[1]))
    }

    /// token (RFC 8866 §9): visible ASCII except the separators.
    static func isToken<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            byte == 0x21 || (byte >= 0x23 && byte <= 0x27) || byte == 0x2A || byte == 0x2B
                || byte == 0x2D || byte == 0x2E || (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x5E && byte <= 0x7E)
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x46) || (self >= 0x61 && self <= 0x66)
    }
}
