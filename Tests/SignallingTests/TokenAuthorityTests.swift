import Foundation
import Testing
@testable import Signalling
import JWTKit

@Suite struct TokenAuthorityTests {
    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "sabha-token-\(UInt64.random(in: 0...UInt64.max))"
        return path
    }

    @Test func createsAPrivateKeyOnceAndVerifiesItsOwnTokensAfterReload() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await TokenAuthority.load(dataDirectory: directory)
        let token = try await first.issue(AccessToken(identity: "alice@dept.gov.in", room: "review", role: .publisher, name: "Alice", lifetime: 3600))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + TokenAuthority.keyFileName)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)

        let reloaded = try await TokenAuthority.load(dataDirectory: directory)
        let claims = try await reloaded.verify(authorization: "Bearer \(token)", room: "review")
        #expect(claims.identity == "alice@dept.gov.in")
        #expect(claims.role == .publisher)
        #expect(claims.name == "Alice")
    }

    @Test func refusesMissingMalformedForgedExpiredAndWrongRoomTokens() async throws {
        let authority = await TokenAuthority(key: Array(repeating: 7, count: 32))
        let forger = await TokenAuthority(key: Array(repeating: 8, count: 32))
        let good = try await authority.issue(AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60))
        let forged = try await forger.issue(AccessToken(identity: "a", room: "r", role: .publisher, lifetime: 60))
        let expired = try await authority.issue(AccessToken(identity: "a", room: "r", role: .viewer,
                                                            issuedAt: Date().addingTimeInterval(-7200), lifetime: 3600))
        let cases: [(String?, TokenRejection)] = [
            (nil, .missing),
            ("Basic abc", .missing),
            ("Bearer ", .missing),
            ("Bearer abc.def", .malformed),
            ("Bearer a.b.c", .malformed),
            ("Bearer \(forged)", .badSignature),
            ("Bearer \(expired)", .expired),
        ]
        for (header, expected) in cases {
            await #expect(throws: expected) { _ = try await authority.verify(authorization: header, room: "r") }
        }
        await #expect(throws: TokenRejection.wrongRoom(tokenRoom: "r", requested: "other")) {
            _ = try await authority.verify(authorization: "Bearer \(good)", room: "other")
        }
        #expect(try await authority.verify(authorization: "bearer \(good)", room: "r").identity == "a")
    }

    @Test func everyTokenGetsItsOwnIdAndOlderTokensWithoutOneStillVerify() async throws {
        let authority = await TokenAuthority(key: Array(repeating: 7, count: 32))
        let a = AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60)
        let b = AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60)
        #expect(a.tokenID?.count == 32 && b.tokenID?.count == 32 && a.tokenID != b.tokenID)
        let verified = try await authority.verify(token: try await authority.issue(a))
        #expect(verified.tokenID == a.tokenID)
        var legacy = AccessToken(identity: "old", room: "r", role: .host, lifetime: 60)
        legacy.id = nil
        #expect(try await authority.verify(token: try await authority.issue(legacy)).tokenID == nil)
    }

    @Test func extremeExpiryTimesVerifyOrExpireWithoutTrapping() async throws {
        let authority = await TokenAuthority(key: Array(repeating: 7, count: 32))
        var far = AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60)
        far.expiration = .init(value: Date(timeIntervalSince1970: 1e15))
        #expect(try await authority.verify(token: try await authority.issue(far)).identity == "a")
        var past = AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60)
        past.expiration = .init(value: Date(timeIntervalSince1970: -1e15))
        past.issuedAt = .init(value: Date(timeIntervalSince1970: -1e15))
        await #expect(throws: TokenRejection.expired) { _ = try await authority.verify(token: try await authority.issue(past)) }
    }

    @Test func aRoleIsOnlyEverCappedNeverRaised() {
        let host = AccessToken(identity: "a", room: "r", role: .host, lifetime: 60)
        #expect(host.capped(at: .viewer).role == .viewer)
        #expect(host.capped(at: .participant).role == .participant)
        #expect(host.capped(at: nil).role == .host)
        let viewer = AccessToken(identity: "a", room: "r", role: .viewer, lifetime: 60)
        #expect(viewer.capped(at: .host).role == .viewer)
        #expect(AccessToken(identity: "a", room: "r", role: .publisher, lifetime: 60).capped(at: .participant).role == .publisher)
    }

    @Test func everyRejectionIsAProblemWithAStatusCodeAndAnExplanation() {
        let all: [TokenRejection] = [.missing, .malformed, .badSignature, .expired, .wrongRoom(tokenRoom: "a", requested: "b"),
                                     .roleNotAllowed(.viewer), .notOwner]
        for rejection in all {
            let problem = rejection.problem
            #expect([401, 403].contains(problem.statusCode))
            #expect(!problem.detail.isEmpty && problem.type.hasSuffix(problem.code))
        }
    }
}
