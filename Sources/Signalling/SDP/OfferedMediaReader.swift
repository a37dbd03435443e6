import MediaCore

/// Reads one m-section of an offer into an `OfferedMedia`, and collects the transport attributes in force on it
/// (media level first, then session level). The lines are read by `SDPMediaAttributes`; this decides what they
/// mean for the intent: Unified Plan or not, usable or why not, the codec, its feedback, RTX and simulcast.
/// Policy checks that depend on the whole offer are in `SDPOffer+Reading.swift`.
struct OfferedMediaReader {
    static let dtlsSRTPProtocol = "UDP/TLS/RTP/SAVPF"
    /// rtcp-fb values we can honour for VP8: RFC 4585 NACK, PLI, RFC 5104 FIR, REMB and transport-cc.
    static let videoFeedback: [String: RTCPFeedbackSet] = [
        "nack": .nack, "nack pli": .pli, "ccm fir": .fir, "goog-remb": .remb, "transport-cc": .transportCC,
    ]
    /// rtcp-fb values we can honour for Opus: transport-cc only.
    static let audioFeedback: [String: RTCPFeedbackSet] = ["transport-cc": .transportCC]

    let intent: SDPIntent
    /// What the session level says, used where an m-section is silent.
    let defaults: SDPSessionAttributes

    func read(_ section: SDPMediaSection) throws(SDPError) -> (media: OfferedMedia, transport: SDPTransportAttributes) {
        let attributes = try SDPMediaAttributes(section.attributes)
        let kind = MediaKind(rawValue: section.media)
        // RFC 8843 §7.2.1: port 0 with a=bundle-only is a live m-line that rides on the BUNDLE transport.
        let disabled = section.port == 0 && !attributes.bundleOnly
        if kind != nil && !disabled { try attributes.checkUnifiedPlan(line: section.mediaLine.number) }
        var media = offered(section, attributes, kind: kind)
        let transport = attributes.transport.falling(back: defaults.transport)
        if let reason = rejection(section, kind: kind, direction: media.direction, disabled: disabled) {
            media.rejectionReason = reason
            return (media, transport)
        }
        guard let kind, let chosen = Self.codec(kind, in: section, attributes.rtpmaps) else {
            media.rejectionReason = kind == .audio
                ? "no opus/48000/2 among the offered audio codecs; only Opus is forwarded"
                : "no VP8/90000 among the offered video codecs; only VP8 is forwarded"
            return (media, transport)
        }
        try accept(&media, kind: kind, payloadType: chosen, section, attributes)
        return (media, transport)
    }

    /// The m-line as offered, not yet accepted.
    private func offered(_ section: SDPMediaSection, _ attributes: SDPMediaAttributes, kind: MediaKind?) -> OfferedMedia {
        var media = OfferedMedia(
            mid: attributes.mid?.value ?? "",
            kind: kind,
            accepted: false,
            payloadType: section.formats.first.flatMap { UInt8($0) }.flatMap { $0 <= 127 ? $0 : nil } ?? 0,
            codecName: "",
            clockRate: 0,
            ssrcs: attributes.sources.primary,
            extensions: HeaderExtensionIDs()
        )
        media.direction = attributes.direction ?? defaults.direction ?? .sendrecv
        media.mediaType = section.media
        media.transportProtocol = section.transportProtocol
        media.formats = section.formats
        media.extmaps = attributes.extmaps
        media.offeredExtensions = HeaderExtensionIDs(understanding: attributes.extmaps)
        media.reducedSizeRTCP = attributes.reducedSize
        media.mediaStreamID = attributes.mediaStreamIDs.first ?? attributes.sources.mediaStreamIDs.first
        media.rids = attributes.rids
        media.simulcast = attributes.simulcast
        return media
    }

    /// Why the m-line cannot be used for the intent whatever its codecs; nil when it may be.
    private func rejection(_ section: SDPMediaSection, kind: MediaKind?, direction: SDPDirection, disabled: Bool) -> String? {
        if disabled { return "port 0: the offerer disabled this m-line" }
        guard kind != nil else {
            return section.media == "application"
                ? "data channels (application m-lines) are not supported"
                : "media type \"\(section.media)\" is not supported"
        }
        guard section.transportProtocol == Self.dtlsSRTPProtocol else {
            return "transport \(section.transportProtocol) is not \(Self.dtlsSRTPProtocol)"
        }
        switch intent {
        case .publish where !direction.sends:
            return "the offerer is \(direction): WHIP publishing needs sendonly or sendrecv"
        case .subscribe where !direction.receives:
            return "the offerer is \(direction): WHEP playback needs recvonly or sendrecv"
        default:
            return nil
        }
    }

    /// The codec we forward for `kind`, as `(name, clock rate)`: Opus for audio, VP8 for video.
    static func forwardedCodec(_ kind: MediaKind) -> (name: String, clockRate: UInt32) {
        kind == .audio ? ("opus", 48000) : ("VP8", 90000)
    }

    /// The first offered payload type that is our codec: opus/48000/2, or VP8/90000 with no or one channel.
    private static func codec(_ kind: MediaKind, in section: SDPMediaSection, _ rtpmaps: [UInt8: SDPRTPMap]) -> UInt8? {
        let codec = forwardedCodec(kind)
        for format in section.formats {
            guard let pt = UInt8(format), let map = rtpmaps[pt] else { continue }
            let channelsMatch = kind == .audio ? map.channels == "2" : (map.channels == nil || map.channels == "1")
            if map.isCodec(codec.name, clockRate: codec.clockRate) && channelsMatch { return pt }
        }
        return nil
    }

    /// Accepts the m-line with `payloadType`: its parameters, the header extensions and feedback we echo, RTX and
    /// simulcast.
    private func accept(_ media: inout OfferedMedia, kind: MediaKind, payloadType chosen: UInt8, _ section: SDPMediaSection,
                        _ attributes: SDPMediaAttributes) throws(SDPError) {
        let codec = Self.forwardedCodec(kind)
        let publishes = intent == .publish || (intent == .meeting && media.direction.sends)
        media.accepted = true
        media.payloadType = chosen
        media.codecName = codec.name
        media.clockRate = codec.clockRate
        media.codecParameters = attributes.formatParameters[String(chosen)]
        media.extensions = HeaderExtensionIDs(echoing: attributes.extmaps, kind: kind, intent: publishes ? .publish : .subscribe)

        // rtcp-fb for the chosen payload type; transport-cc only when its header extension is echoed too.
        let honoured = kind == .audio ? Self.audioFeedback : Self.videoFeedback
        for entry in attributes.feedback where entry.applies(to: chosen) {
            guard let flag = honoured[entry.value], !media.rtcpFeedback.contains(entry.value) else { continue }
            if flag == .transportCC && media.extensions.transportWideCC == 0 { continue }
            media.rtcpFeedback.append(entry.value)
            media.feedback.insert(flag)
        }

        // RTX (RFC 4588 §8.6): an offered rtx/90000 whose apt is the VP8 payload type.
        if kind == .video {
            media.rtxPayloadType = section.formats.lazy.compactMap { format -> UInt8? in
                guard let pt = UInt8(format), pt != chosen, let map = attributes.rtpmaps[pt], map.isCodec("rtx", clockRate: codec.clockRate),
                      SDPFormatParameters.associatedPayloadType(attributes.formatParameters[format]) == chosen else { return nil }
                return pt
            }.first ?? 0
        }

        // Simulcast (RFC 8853, RFC 8851) or legacy a=ssrc-group:SIM, for the m-lines that publish to us.
        let sources = attributes.sources
        if publishes && kind == .video {
            if let simulcast = attributes.simulcast, !simulcast.send.isEmpty {
                (media.simulcastRIDs, media.encodings) = try simulcast.layers(rids: attributes.rids, payloadType: chosen,
                                                                               line: section.mediaLine.number)
            } else if let group = sources.simulcastGroup {
                media.encodings = group.prefix(SDPSimulcast.maximumLayers).map {
                    ProducerEncoding(rid: "", ssrc: $0, rtxSSRC: sources.repairOf[$0])
                }
            }
        }
        if media.encodings.isEmpty, media.ssrcs.count == 1 {
            media.rtxSSRC = sources.repairOf[media.ssrcs[0]]
        }
    }
}
