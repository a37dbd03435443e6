import Crypto
import Foundation

/// Short-lived TURN credentials in the TURN REST scheme (draft-uberti-behave-turn-rest-00, section 2.2), which coturn
/// checks with `use-auth-secret` and `static-auth-secret`: the username is `<unix expiry>:<identity>` and the password is
/// base64(HMAC-SHA1(shared secret, username)). The relay needs no user database and no call to Sabha: it recomputes
/// the password from the username and refuses it once the expiry has passed.
public struct TURNCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    /// When the relay stops accepting them (for new allocations; coturn lets a running allocation finish its lifetime).
    public var expiry: Date

    /// Credentials for `identity` (no ':', which separates the expiry; replaced with '-') valid until `expiry`.
    /// `secret` is the bytes of coturn's `static-auth-secret` as written in its configuration.
    public init(secret: some DataProtocol, identity: String, expiry: Date) {
        let seconds = Int64(expiry.timeIntervalSince1970.rounded(.down))
        username = "\(seconds):\(identity.replacingOccurrences(of: ":", with: "-"))"
        var mac = HMAC<Insecure.SHA1>(key: SymmetricKey(data: Array(secret)))
        mac.update(data: Array(username.utf8))
        password = Data(mac.finalize()).base64EncodedString()
        self.expiry = Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
