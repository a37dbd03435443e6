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

    enum CodingKeys: String, CodingKey {
        case subject = "sub"
        case room
        case role
        case name
        case expiration = "exp"
        case issuedAt = "iat"
    }

    public init(identity: String, room: String, role: ParticipantRole, name: String? = nil, issuedAt: Date = Date(), lifetime: TimeInterval) {
        self.subject = SubjectClaim(value: identity)
        self.room = room
        self.role = role
        self.name = name
        // NumericDate is whole seconds (RFC 7519 allows fractions, but other verifiers choke on them).
        let now = issuedAt.timeIntervalSince1970.rounded(.down)
        self.issuedAt = IssuedAtClaim(value: Date(timeIntervalSince1970: now))
        self.expiration = ExpirationClaim(value: Date(timeIntervalSince1970: now + lifetime.rounded(.up)))
    }

    public var identity: String { subject.value }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}
