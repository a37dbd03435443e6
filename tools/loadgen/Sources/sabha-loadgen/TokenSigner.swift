import Foundation

/// Signs Sabha join tokens (HS256 JWTs: `sub`, `room`, `role`, `iat`, `exp`) with the server's key, the
/// 32 bytes in `<data-dir>/token-hs256.key`, as `sabha token` does.
struct TokenSigner {
    let key: [UInt8]

    init(keyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadgenError.configuration("cannot read the token key \(path) (start `sabha serve --data-dir DIR` once to create it)")
        }
        guard data.count >= 32 else { throw LoadgenError.configuration("token key \(path) is shorter than 32 bytes") }
        key = Array(data)
    }

    func sign(identity: String, room: String, role: String, lifetimeSeconds: Int = 3600) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let payload = "{\"sub\":\(Self.jsonString(identity)),\"room\":\(Self.jsonString(room)),\"role\":\"\(role)\",\"iat\":\(now),\"exp\":\(now + lifetimeSeconds)}"
        let signingInput = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(payload.utf8))
        return signingInput + "." + Self.base64URL(SHA256.hmac(key: key, message: Array(signingInput.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
