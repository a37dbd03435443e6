/// An `a=extmap:<id>[/<direction>] <uri> [<attributes>]` line (RFC 8285 §8).
public struct SDPExtmap: Sendable, Hashable {
    /// 1–14 for one-byte headers, up to 255 with two-byte headers.
    public var id: UInt8
    /// The offerer's direction for this extension; nil when not given (follows the m-line).
    public var direction: SDPDirection?
    public var uri: String
    public var attributes: String?

    public init(id: UInt8, direction: SDPDirection? = nil, uri: String, attributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.attributes = attributes
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard fields.count >= 2 else {
            throw .malformed(line: line, "a=extmap needs an id and a URI: a=extmap:<id>[/<direction>] <uri>")
        }
        let idAndDirection = fields[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let id = UInt8(idAndDirection[0]), id >= 1 else {
            throw .malformed(line: line, "a=extmap id \"\(idAndDirection[0])\" is not a number from 1 to 255")
        }
        if idAndDirection.count == 2 {
            guard let direction = SDPDirection(rawValue: String(idAndDirection[1])) else {
                throw .malformed(line: line, "a=extmap direction \"\(idAndDirection[1])\" is not sendrecv, sendonly, recvonly or inactive")
            }
            self.direction = direction
        } else {
            self.direction = nil
        }
        self.id = id
        self.uri = String(fields[1])
        self.attributes = fields.count > 2 ? String(fields[2]) : nil
    }
}
