import Foundation
import JWTKit

/// What a participant may do in a room.
public enum ParticipantRole: String, Codable, Sendable, CaseIterable {
    /// Runs the meeting: publishes, watches, and may mute or remove others and end the meeting.
    case host
    /// Publishes and watches (in a meeting).
    case participant
    /// Publishes and watches (WHIP/WHEP naming; the same rights as `participant`).
    case publisher
    /// Only watches.
    case viewer

    public var mayPublish: Bool { self != .viewer }

    /// viewer < participant = publisher < host: "the lesser of two roles" compares these.
    public var rank: Int {
        switch self {
        case .viewer: 0
        case .participant, .publisher: 1
        case .host: 2
        }
    }
}

/// The claims of a Sabha join token: who (`sub`), where (`room`), as what (`role`), until when (`exp`).
public struct AccessToken: JWTPayload, Equatable {
    public var subject: SubjectClaim
    public var room: String
    public var role: ParticipantRole
    /// Display name shown to others; the identity when absent.
    public var name: String?
    public var expiration: ExpirationClaim
    public var issuedAt: IssuedAtClaim
    /// The link's own id (`jti`), by which an administrator can withdraw this one token. Tokens made before
    /// Sabha gave them one have none; they can only be shut out by identity (a host's removal) or by closing the room.
    public var id: IDClaim?

    enum CodingKeys: String, CodingKey {
        case subject = "sub"
        case room
        case role
        case name
        case expiration = "exp"
        case issuedAt = "iat"
        case id = "jti"
    }

    /// `id` defaults to 16 random bytes (32 hex digits).
    public init(identity: String, room: String, role: ParticipantRole, name: String? = nil, issuedAt: Date = Date(), lifetime: TimeInterval,
                id: String? = nil) {
        self.subject = SubjectClaim(value: identity)
        self.room = room
        self.role = role
        self.name = name
        self.id = IDClaim(value: id ?? Self.newID())
        // NumericDate is whole seconds (RFC 7519 allows fractions, but other verifiers choke on them).
        let now = issuedAt.timeIntervalSince1970.rounded(.down)
        self.issuedAt = IssuedAtClaim(value: Date(timeIntervalSince1970: now))
        self.expiration = ExpirationClaim(value: Date(timeIntervalSince1970: now + lifetime.rounded(.up)))
    }

    public var identity: String { subject.value }

    /// The token id, when it has one.
    public var tokenID: String? { id?.value }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined()
    }

    /// The same token with its role lowered to `cap` when `cap` is lower (never raised).
    public func capped(at cap: ParticipantRole?) -> AccessToken {
        guard let cap, cap.rank < role.rank else { return self }
        var copy = self
        copy.role = cap
        return copy
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}
