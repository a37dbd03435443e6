/// What one m-section's a=ssrc and a=ssrc-group lines announce (RFC 5576): its SSRCs, which of them repair which
/// (FID, RFC 4588 §8.3; FEC-FR) and a legacy simulcast group (SIM).
struct SDPSources {
    /// Every SSRC an a=ssrc line names, once each, in offer order.
    private(set) var ssrcs: [UInt32] = []
    private var known: Set<UInt32> = []
    /// The different `msid` source attributes (more than one is Plan B).
    private(set) var mediaStreamIDs: Set<SDPMediaStreamID> = []
    /// Members after the first of FID and FEC-FR groups.
    private var repairSSRCs: Set<UInt32> = []
    /// a=ssrc-group:FID media SSRC → its repair SSRC; the first group for a media SSRC wins.
    private(set) var repairOf: [UInt32: UInt32] = [:]
    /// Members of the first a=ssrc-group:SIM, as listed (lowest layer first); nil when there is none.
    private(set) var simulcastGroup: [UInt32]?

    mutating func add(_ source: SDPSourceAttribute) {
        if known.insert(source.ssrc).inserted { ssrcs.append(source.ssrc) }
        if let msid = source.mediaStreamID { mediaStreamIDs.insert(msid) }
    }

    mutating func add(_ group: SDPSourceGroup) {
        switch group.semantics {
        case "FID", "FEC-FR":
            repairSSRCs.formUnion(group.members.dropFirst())
            if group.semantics == "FID", repairOf[group.members[0]] == nil { repairOf[group.members[0]] = group.members[1] }
        case "SIM":
            if simulcastGroup == nil { simulcastGroup = group.members }
        default:
            break
        }
    }

    /// The media SSRCs: every announced SSRC that does not repair another.
    var primary: [UInt32] { ssrcs.filter { !repairSSRCs.contains($0) } }
}
