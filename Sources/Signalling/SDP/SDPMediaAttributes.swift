import MediaCore

/// The attribute lines of one m-section, each read by its own reader (SDPRTPMap, SDPExtmap, SDPSourceGroup, ...).
/// Throws on a line that breaks its grammar or contradicts an earlier one; what the lines mean together for an
/// intent is decided in `OfferedMediaReader`.
struct SDPMediaAttributes {
    var mid: SDPAttribute?
    var direction: SDPDirection?
    var rtpmaps: [UInt8: SDPRTPMap] = [:]
    /// a=fmtp parameters by format; the first line for a format wins.
    var formatParameters: [String: String] = [:]
    var feedback: [SDPFeedback] = []
    /// In offer order, one per id.
    var extmaps: [SDPExtmap] = []
    var sources = SDPSources()
    /// The different a=msid values, in offer order.
    var mediaStreamIDs: [SDPMediaStreamID] = []
    var rids: [SDPRID] = []
    var simulcast: SDPSimulcast?
    var transport = SDPTransportAttributes()
    var reducedSize = false
    var bundleOnly = false

    init(_ attributes: [SDPAttribute]) throws(SDPError) {
        for attribute in attributes {
            guard try !transport.read(attribute) else { continue }
            let line = attribute.line
            switch attribute.name {
            case "rtcp-rsize": reducedSize = true
            case "bundle-only": bundleOnly = true
            case "sendrecv", "sendonly", "recvonly", "inactive": try readDirection(attribute)
            case "mid": try readMid(attribute)
            case "rtpmap": try add(SDPRTPMap(parsing: attribute.requiredValue(), line: line), line: line)
            case "fmtp":
                let fmtp = try SDPFormatParameters(parsing: attribute.requiredValue(), line: line)
                if formatParameters[fmtp.format] == nil { formatParameters[fmtp.format] = fmtp.parameters }
            case "rtcp-fb": feedback.append(try SDPFeedback(parsing: attribute.requiredValue(), line: line))
            case "extmap": try add(SDPExtmap(parsing: attribute.requiredValue(), line: line), line: line)
            case "ssrc": sources.add(try SDPSourceAttribute(parsing: attribute.requiredValue(), line: line))
            case "ssrc-group": sources.add(try SDPSourceGroup(parsing: attribute.requiredValue(), line: line))
            case "msid":
                let msid = try SDPMediaStreamID(parsing: Substring(try attribute.requiredValue()), line: line)
                if !mediaStreamIDs.contains(msid) { mediaStreamIDs.append(msid) }
            case "rid": rids.append(try SDPRID(parsing: attribute.requiredValue(), line: line))
            case "simulcast":
                guard simulcast == nil else { throw .malformed(line: line, "a second a=simulcast in one m-line") }
                simulcast = try SDPSimulcast(parsing: attribute.requiredValue(), line: line)
            default:
                break
            }
        }
    }

    private mutating func readDirection(_ attribute: SDPAttribute) throws(SDPError) {
        let value = SDPDirection(rawValue: attribute.name)!
        if let direction, direction != value {
            throw .malformed(line: attribute.line, "a=\(value) contradicts the earlier a=\(direction)")
        }
        direction = value
    }

    /// a=mid (RFC 8843 §15.2): once, a token of at most 255 bytes.
    private mutating func readMid(_ attribute: SDPAttribute) throws(SDPError) {
        try mid.setOnce(attribute)
        let value = try attribute.requiredValue()
        guard SDPAttribute.isToken(value), value.utf8.count <= 255 else {
            throw .malformed(line: attribute.line, "a=mid \"\(value)\" must be a token of at most 255 bytes (RFC 8843)")
        }
    }

    private mutating func add(_ rtpmap: SDPRTPMap, line: Int) throws(SDPError) {
        guard rtpmaps[rtpmap.payloadType] == nil else {
            throw .malformed(line: line, "payload type \(rtpmap.payloadType) has a second a=rtpmap")
        }
        rtpmaps[rtpmap.payloadType] = rtpmap
    }

    /// A second mapping of an id is refused unless it repeats the first.
    private mutating func add(_ extmap: SDPExtmap, line: Int) throws(SDPError) {
        guard let other = extmaps.first(where: { $0.id == extmap.id }) else {
            extmaps.append(extmap)
            return
        }
        guard other.uri == extmap.uri else {
            throw .malformed(line: line, "extension id \(extmap.id) is already mapped to \(other.uri)")
        }
    }

    /// Unified Plan (RFC 8829): one media source per m-line. Several a=msid tracks, or several media SSRCs that are
    /// neither repair streams nor simulcast, are Plan B.
    func checkUnifiedPlan(line: Int) throws(SDPError) {
        if mediaStreamIDs.count > 1 {
            throw SDPError(.notUnifiedPlan, line: line, "the m-line carries \(mediaStreamIDs.count) different a=msid tracks; this is Plan B, offer Unified Plan (one track per m-line)")
        }
        if sources.mediaStreamIDs.count > 1 {
            throw SDPError(.notUnifiedPlan, line: line, "the m-line's a=ssrc lines name \(sources.mediaStreamIDs.count) different tracks; this is Plan B, offer Unified Plan (one track per m-line)")
        }
        let primary = sources.primary
        if primary.count > 1 && rids.isEmpty && simulcast == nil && sources.simulcastGroup == nil {
            throw SDPError(.notUnifiedPlan, line: line, "the m-line announces \(primary.count) media SSRCs that are neither repair streams nor simulcast; this is Plan B, offer Unified Plan")
        }
    }
}
