import Foundation
import JWTKit

/// Why a request's token was not accepted. Each case becomes a 401/403 problem body.
public enum TokenRejection: Error, Sendable, Equatable {
    case missing
    case malformed
    case badSignature
    case expired
    case wrongRoom(tokenRoom: String, requested: String)
    case roleNotAllowed(ParticipantRole)
    case notOwner

    public var problem: Problem {
        switch self {
        case .missing:
            return Problem(status: 401, code: "token-missing", title: "Token required",
                           detail: "Send the join token as 'Authorization: Bearer <token>'. Create one with 'sabha token --room ROOM --identity NAME'.")
        case .malformed:
            return Problem(status: 401, code: "token-malformed", title: "Token malformed",
                           detail: "The bearer token is not a JWT (three base64url parts separated by dots).")
        case .badSignature:
            return Problem(status: 401, code: "token-bad-signature", title: "Token signature invalid",
                           detail: "The token was not signed by this server's key: it is forged, altered, or from another Sabha server.")
        case .expired:
            return Problem(status: 401, code: "token-expired", title: "Token expired",
                           detail: "The token's expiry time has passed. Ask the organiser for a new link.")
        case .wrongRoom(let tokenRoom, let requested):
            return Problem(status: 401, code: "token-wrong-room", title: "Token is for another room",
                           detail: "The token admits to room '\(tokenRoom)', not '\(requested)'.")
        case .roleNotAllowed(let role):
            return Problem(status: 403, code: "role-not-allowed", title: "Not allowed to publish",
                           detail: "The token's role '\(role.rawValue)' may watch but not publish in this room.")
        case .notOwner:
            return Problem(status: 403, code: "not-session-owner", title: "Not your session",
                           detail: "Only the participant who created this session may end it.")
        }
    }
}

/// Issues and checks join tokens: HS256 JWTs signed with a 256-bit key kept in the data directory.
/// The key is created on first use, readable only by the server's user (0600).
public final class TokenAuthority: Sendable {
    public static let keyFileName = "token-hs256.key"
    private let keys: JWTKeyCollection

    public init(key: [UInt8]) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: key), digestAlgorithm: .sha256)
    }

    /// Loads `<dataDirectory>/token-hs256.key`, creating the directory and a fresh random key if missing.
    public static func load(dataDirectory: String) async throws -> TokenAuthority {
        let key = try loadOrCreateKey(dataDirectory: dataDirectory)
        return await TokenAuthority(key: key)
    }

    static func loadOrCreateKey(dataDirectory: String) throws -> [UInt8] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (dataDirectory as NSString).appendingPathComponent(keyFileName)
        if let data = fm.contents(atPath: path) {
            guard data.count >= 32 else {
                throw SignallingError.configuration("token key \(path) is shorter than 32 bytes; delete it to create a new one (all issued tokens become invalid)")
            }
            return [UInt8](data)
        }
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        guard fm.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw SignallingError.configuration("cannot write token key \(path)")
        }
        return key
    }

    public func issue(_ token: AccessToken) async throws -> String {
        try await keys.sign(token)
    }

    /// Checks an `Authorization` header value for `room`.
    public func verify(authorization: String?, room: String) async throws(TokenRejection) -> AccessToken {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { throw .missing }
        let token = try await verify(token: authorization.dropFirst(7).trimmingCharacters(in: .whitespaces))
        guard token.room == room else { throw .wrongRoom(tokenRoom: token.room, requested: room) }
        return token
    }

    /// Checks a bare JWT: signature and expiry (the room is the caller's business).
    public func verify(token raw: String) async throws(TokenRejection) -> AccessToken {
        guard !raw.isEmpty else { throw .missing }
        guard raw.split(separator: ".", omittingEmptySubsequences: false).count == 3 else { throw .malformed }
        let token: AccessToken
        do {
            token = try await keys.verify(raw, as: AccessToken.self)
        } catch let error as JWTError {
            switch error.errorType {
            case .signatureVerificationFailed: throw .badSignature
            case .claimVerificationFailure: throw .expired
            default: throw .malformed
            }
        } catch {
            throw .malformed
        }
        return token
    }
}
