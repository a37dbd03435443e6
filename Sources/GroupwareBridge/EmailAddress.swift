/// An email address that passed a pragmatic check, so that a typo is reported when the meeting
/// is saved rather than as a bounce later: one `@`, a non-empty local part, a domain with a dot
/// and no empty labels, no spaces, control characters or characters that break mail headers.
/// Full RFC 5322 syntax (quoted local parts, comments) is deliberately not accepted.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ address: String) throws(BridgeError) {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .invalidEmailAddress(address, "needs exactly one @") }
        let local = parts[0]
        let domain = parts[1]
        guard !local.isEmpty else { throw .invalidEmailAddress(address, "nothing before the @") }
        guard address.utf8.count <= 254, local.utf8.count <= 64 else {
            throw .invalidEmailAddress(address, "too long")
        }
        for scalar in address.unicodeScalars {
            if scalar.value <= 0x20 || scalar.value == 0x7F || scalar.properties.isWhitespace {
                throw .invalidEmailAddress(address, "contains a space or control character")
            }
            if "<>()[]\\,;:\"".unicodeScalars.contains(scalar) {
                throw .invalidEmailAddress(address, "contains '\(scalar)'")
            }
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidEmailAddress(address, "the domain needs a dot and no empty labels")
        }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            throw .invalidEmailAddress(address, "the part before the @ has a misplaced dot")
        }
        value = address
    }

    public var localPart: Substring { value[..<value.firstIndex(of: "@")!] }
    public var domain: Substring { value[value.index(after: value.firstIndex(of: "@")!)...] }

    /// `mailto:` URI for ORGANIZER and ATTENDEE (RFC 5545 section 3.3.3).
    public var mailto: String { "mailto:" + value }

    public var description: String { value }
}
