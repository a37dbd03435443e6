import Foundation
import HTTPTypes

/// `--trusted-proxy`: the reverse proxies (addresses or CIDR blocks) whose `Forwarded` (RFC 7239) or
/// `X-Forwarded-For` header is believed. Behind one, every connection comes from the proxy; the header says who the
/// officer is, and that is what the audit trail records and the per-address limits count. From anyone else the
/// headers are ignored, since any client can send them.
public struct TrustedProxies: Sendable, Equatable {
    /// One trusted block: its address bytes (4 or 16) and prefix length.
    struct Block: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (a, b) in zip(address, bytes) where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                left -= bits
            }
            return true
        }
    }

    public var count: Int { blocks.count }
    let blocks: [Block]

    public init() { blocks = [] }

    /// Parses "10.0.0.5", "10.0.0.0/8", "::1", "fd00::/8"; the error names the entry that is none of these.
    public init(_ entries: [String]) throws(TrustedProxiesError) {
        blocks = try entries.map { entry throws(TrustedProxiesError) -> Block in
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.addressBytes(parts.first ?? "") else {
                throw TrustedProxiesError("--trusted-proxy '\(entry)' is not an IP address or a CIDR block like 10.0.0.0/8")
            }
            let bits = bytes.count * 8
            guard parts.count == 1 || (Int(parts[1]).map { (0...bits).contains($0) } ?? false) else {
                throw TrustedProxiesError("--trusted-proxy '\(entry)': the prefix length must be 0 to \(bits)")
            }
            return Block(bytes: bytes, prefix: parts.count == 2 ? Int(parts[1])! : bits)
        }
    }

    public var isEmpty: Bool { blocks.isEmpty }

    func trusts(_ address: String) -> Bool {
        guard let bytes = Self.addressBytes(address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client's address: the connection's peer, unless the peer is a trusted proxy; then the hops its header
    /// lists are walked from the right (the nearest first) past every trusted one, and the first other is the client.
    /// A hop that is no address ("unknown", an obfuscated name) ends the walk: the last trusted hop is what is known.
    public func clientAddress(peer: String?, headers: HTTPFields) -> String? {
        guard let peer, !blocks.isEmpty, trusts(peer) else { return peer }
        var address = peer
        for hop in Self.forwardedHops(headers).reversed() {
            guard Self.addressBytes(hop) != nil else { break }
            address = hop
            guard trusts(hop) else { break }
        }
        return address
    }

    /// The `for=` hops of `Forwarded`, else the entries of `X-Forwarded-For`, leftmost (the original client) first.
    static func forwardedHops(_ headers: HTTPFields) -> [String] {
        let forwarded = headers[values: .forwarded]
        if !forwarded.isEmpty {
            return forwarded.flatMap { $0.split(separator: ",") }.compactMap { element -> String? in
                for pair in element.split(separator: ";") {
                    let keyValue = pair.split(separator: "=", maxSplits: 1)
                    guard keyValue.count == 2, keyValue[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                    return Self.stripPort(keyValue[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
                }
                return "unknown"
            }
        }
        return headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
            .map { Self.stripPort($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// "[2001:db8::1]:4711" → "2001:db8::1"; "192.0.2.1:80" → "192.0.2.1"; a bare IPv6 address stays as it is.
    static func stripPort(_ text: String) -> String {
        if text.hasPrefix("["), let end = text.firstIndex(of: "]") { return String(text[text.index(after: text.startIndex)..<end]) }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") { return String(text[..<colon]) }
        return text
    }

    static func addressBytes(_ text: String) -> [UInt8]? {
        // Into plain bytes: in_addr and in6_addr are seen through more than one C module here.
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }
}

extension HTTPField.Name {
    static var forwarded: Self { .init("Forwarded")! }
    static var xForwardedFor: Self { .init("X-Forwarded-For")! }
}

public struct TrustedProxiesError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
