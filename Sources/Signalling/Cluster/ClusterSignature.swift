import Crypto
import Foundation

/// Requests between the nodes of a cluster (relays) are signed with a secret every node holds (kept in the shared
/// database, like the token key): HMAC-SHA256 over the time, the method, the path and the body, in the header
/// `Sabha-Cluster-Signature: t=<unix seconds>,v1=<hex>`. A signature older or newer than `tolerance` is refused, so
/// a captured request cannot be played again later; a relay's keys travel in these bodies, so put the nodes' public
/// URLs on https or a private network (docs/cluster.md).
public struct ClusterSignature: Sendable {
    public static let header = "Sabha-Cluster-Signature"
    /// How far the signer's clock may be from ours (the nodes keep theirs in step with NTP anyway).
    public static let tolerance: TimeInterval = 30

    let key: SymmetricKey

    public init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    /// The header value for a request.
    public func sign(method: String, path: String, body: [UInt8], now: Date = Date()) -> String {
        let time = Int(now.timeIntervalSince1970)
        let code = HMAC<SHA256>.authenticationCode(for: Self.message(time: time, method: method, path: path, body: body), using: key)
        return "t=\(time),v1=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `value` (the header) signs this request, made within `tolerance` of `now`.
    public func verify(_ value: String?, method: String, path: String, body: [UInt8], now: Date = Date()) -> Bool {
        guard let value else { return false }
        var time: Int?
        var code: [UInt8]?
        for part in value.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { time = Int(pair[1]) }
            if pair[0] == "v1" { code = Self.bytes(hex: pair[1]) }
        }
        guard let time, let code, code.count == SHA256.byteCount,
              abs(now.timeIntervalSince1970 - TimeInterval(time)) <= Self.tolerance else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.message(time: time, method: method, path: path, body: body),
                                                      using: key)
    }

    private static func message(time: Int, method: String, path: String, body: [UInt8]) -> [UInt8] {
        Array("\(time)\n\(method.uppercased()) \(path)\n".utf8) + body
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
