/// An `a=ssrc-group:<semantics> <ssrc> ...` line (RFC 5576 §4.2): FID (RFC 4588 §8.3, a media SSRC and its
/// retransmission SSRC), FEC-FR (RFC 5956) or SIM (legacy simulcast, lowest layer first).
struct SDPSourceGroup: Sendable, Hashable {
    var semantics: String
    /// At least one; FID and FEC-FR groups have at least two, the media SSRC first.
    var members: [UInt32]

    init(parsing value: String, line: Int) throws(SDPError) {
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
        if Self.repairSemantics.contains(semantics), members.count < 2 {
            throw .malformed(line: line, "a=ssrc-group:\(semantics) needs a media SSRC and its repair SSRC")
        }
        self.semantics = String(semantics)
        self.members = members
    }

    /// Groups whose members after the first repair the first.
    static let repairSemantics: Set<Substring> = ["FID", "FEC-FR"]
}
