import Foundation

/// The TURN relays Sabha hands to clients (`sabha serve --turn-url/--turn-secret`), for networks that let no media
/// reach Sabha directly: each participant and each WHIP/WHEP session gets its own short-lived credentials
/// (`TURNCredentials`), so a leaked one works only until it expires and names no person.
public struct TURNConfiguration: Sendable {
    public var urls: [TURNURL]
    /// coturn's `static-auth-secret`.
    public var secret: [UInt8]
    /// How long credentials stay valid from the moment they are handed out.
    public var lifetime: TimeInterval

    /// The default lifetime of credentials: a peer connection keeps its allocation once made (coturn checks the expiry
    /// when an allocation is created, not on its refreshes), so an hour covers joining and early ICE restarts of a long
    /// meeting while a leaked credential is worth little for long.
    public static let defaultLifetime: TimeInterval = 3600

    public init(urls: [TURNURL], secret: [UInt8], lifetime: TimeInterval = Self.defaultLifetime) {
        self.urls = urls
        self.secret = secret
        self.lifetime = lifetime
    }

    /// Fresh credentials for `identity` (a participant or session id, never a person's name).
    public func credentials(for identity: String, now: Date = Date()) -> TURNCredentials {
        TURNCredentials(secret: secret, identity: identity, expiry: now.addingTimeInterval(lifetime))
    }

    /// The one RTCIceServer of the meeting protocol's `joined.iceServers`.
    public func iceServer(for identity: String, now: Date = Date()) -> ICEServer {
        let credentials = credentials(for: identity, now: now)
        return ICEServer(urls: urls.map(\.text), username: credentials.username, credential: credentials.password)
    }

    /// `Link` header values for a WHIP/WHEP `201 Created` (RFC 9725 section 4.4): one per URL, each with the same
    /// credentials.
    public func linkHeaderValues(for identity: String, now: Date = Date()) -> [String] {
        let credentials = credentials(for: identity, now: now)
        return urls.map { url in
            "<\(url.text)>; rel=\"ice-server\"; username=\"\(Self.quoted(credentials.username))\"; "
                + "credential=\"\(Self.quoted(credentials.password))\"; credential-type=\"password\""
        }
    }

    /// A quoted-string body (RFC 9110 section 5.6.4): backslash and double quote escaped.
    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
