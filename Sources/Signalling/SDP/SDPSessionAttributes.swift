/// What the session level of an offer says for the m-sections that are silent (direction, ICE, DTLS), and its
/// a=group:BUNDLE lines (RFC 8843 §7.1).
struct SDPSessionAttributes {
    /// The last session-level direction attribute; nil when none.
    var direction: SDPDirection?
    var transport = SDPTransportAttributes()
    /// Each a=group:BUNDLE with its mids, and its line.
    var bundleGroups: [(mids: [String], line: Int)] = []

    init(_ attributes: [SDPAttribute]) throws(SDPError) {
        for attribute in attributes {
            guard try !transport.read(attribute) else { continue }
            switch attribute.name {
            case "sendrecv", "sendonly", "recvonly", "inactive":
                direction = SDPDirection(rawValue: attribute.name)
            case "group":
                let fields = (attribute.value ?? "").split(separator: " ", omittingEmptySubsequences: true)
                if fields.first == "BUNDLE" {
                    bundleGroups.append((fields.dropFirst().map(String.init), attribute.line))
                }
            default:
                break
            }
        }
    }
}
