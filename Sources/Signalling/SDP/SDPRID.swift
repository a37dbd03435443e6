/// An `a=rid:<id> <send|recv> [pt=<fmt>,...;<restriction>=<value>;...]` line (RFC 8851 §10).
/// Negotiated for publishing video m-lines in `SDPSimulcast.layers(rids:payloadType:line:)`.
public struct SDPRID: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable {
        case send
        case recv
    }

    public var id: String
    public var direction: Direction
    /// The `pt=` restriction, empty when absent.
    public var payloadTypes: [String]
    /// Other restrictions (`max-width=1280`, ...); a restriction without a value maps to "".
    public var restrictions: [String: String]

    public init(id: String, direction: Direction, payloadTypes: [String] = [], restrictions: [String: String] = [:]) {
        self.id = id
        self.direction = direction
        self.payloadTypes = payloadTypes
        self.restrictions = restrictions
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard fields.count >= 2 else {
            throw .malformed(line: line, "a=rid needs an id and a direction: a=rid:<id> send|recv")
        }
        guard Self.isRIDIdentifier(fields[0]) else {
            throw .malformed(line: line, "rid \"\(fields[0])\" may hold only letters, digits, '-' and '_'")
        }
        guard let direction = Direction(rawValue: String(fields[1])) else {
            throw .malformed(line: line, "a=rid direction \"\(fields[1])\" is not send or recv")
        }
        id = String(fields[0])
        self.direction = direction
        payloadTypes = []
        restrictions = [:]
        guard fields.count == 3 else { return }
        for restriction in fields[2].split(separator: ";", omittingEmptySubsequences: true) {
            let pair = restriction.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pair[0])
            let value = pair.count == 2 ? String(pair[1]) : ""
            if key == "pt" {
                payloadTypes = value.split(separator: ",").map(String.init)
            } else {
                restrictions[key] = value
            }
        }
    }

    /// rid-id = 1*(alpha-numeric / "-" / "_") (RFC 8851 §10), at most 255 bytes so it fits an RTP header.
    static func isRIDIdentifier(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 255 && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
