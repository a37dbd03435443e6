/// A Content-Type value (RFC 2045 section 5.1): `type/subtype *(";" name "=" (token / quoted-string))`.
/// Read leniently, as mail from any client must be: an unreadable value is text/plain (section 5.2).
public struct MIMEContentType: Hashable, Sendable {
    /// Lower case, as are subtype and parameter names.
    public var type: String
    public var subtype: String
    public var parameters: [String: String]

    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    /// text/plain; charset=us-ascii, what a part without Content-Type is (section 5.2).
    public static let `default` = MIMEContentType(type: "text", subtype: "plain", parameters: ["charset": "us-ascii"])

    public var mediaType: String { "\(type)/\(subtype)" }

    public var isMultipart: Bool { type == "multipart" }

    public func parameter(_ name: String) -> String? { parameters[name.lowercased()] }

    public init(parsing value: String) {
        let bytes = Array(value.utf8)
        var i = 0
        func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
        }
        func token() -> String {
            let start = i
            while i < bytes.count, !Self.isSpecial(bytes[i]) { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
        skipSpace()
        let type = token()
        skipSpace()
        guard !type.isEmpty, i < bytes.count, bytes[i] == UInt8(ascii: "/") else {
            self = .default
            return
        }
        i += 1
        skipSpace()
        let subtype = token()
        guard !subtype.isEmpty else {
            self = .default
            return
        }
        var parameters: [String: String] = [:]
        while i < bytes.count {
            while i < bytes.count, bytes[i] != UInt8(ascii: ";") { i += 1 }  // skip to the next parameter
            guard i < bytes.count else { break }
            i += 1
            skipSpace()
            let name = token().lowercased()
            skipSpace()
            guard !name.isEmpty, i < bytes.count, bytes[i] == UInt8(ascii: "=") else { continue }
            i += 1
            skipSpace()
            var parameterValue: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                    parameterValue.append(bytes[i])
                    i += 1
                }
                i += 1
            } else {
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: ";"), bytes[i] != 0x20, bytes[i] != 0x09 { i += 1 }
                parameterValue = Array(bytes[start..<i])
            }
            if parameters[name] == nil { parameters[name] = String(decoding: parameterValue, as: UTF8.self) }
        }
        self.init(type: type, subtype: subtype, parameters: parameters)
    }

    /// tspecials and space/control (section 5.1): what ends a token.
    static func isSpecial(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7F || "()<>@,;:\\\"/[]?=".utf8.contains(byte)
    }
}
