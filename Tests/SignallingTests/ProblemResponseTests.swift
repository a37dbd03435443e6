import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Testing
@testable import Signalling

/// A refusal is thrown as a `Problem` and becomes its RFC 9457 document on the way out, with the browser-hardening
/// headers, logged once by `ProblemLogMiddleware`: debug for the client's refusals, error for the server's faults.
@Suite struct ProblemResponseTests {
    @Test func aThrownProblemBecomesItsDocumentWithTheSecurityHeaders() async throws {
        let test = TestRouter.withServerMiddleware()
        test.router.get("/gone") { _, _ -> Response in
            throw Problem(status: 404, code: "room-not-found", title: "No such room", detail: "There is no room named 'x'.")
        }
        let (response, body) = try await test.send(.get, "/gone")
        #expect(response.status == .notFound)
        #expect(response.headers[.contentType] == "application/problem+json")
        #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
        #expect(response.headers[.xContentTypeOptions] == "nosniff")
        #expect(body == #"{"code":"room-not-found","detail":"There is no room named 'x'.","status":404,"title":"No such room","type":"urn:sabha:problem:room-not-found"}"#)
        let decoded = try JSONDecoder().decode(Problem.self, from: Data(body.utf8))
        #expect(decoded == Problem(status: 404, code: "room-not-found", title: "No such room", detail: "There is no room named 'x'."))
    }

    @Test func aProblemCarriesItsHeadersButNotInItsBody() async throws {
        let test = TestRouter.withServerMiddleware()
        test.router.patch("/whip/r/s") { _, _ -> Response in
            throw Problem(status: 405, code: "trickle-not-supported", title: "Trickle ICE not supported", detail: "d",
                          headers: [.allow: "DELETE"])
        }
        let (response, body) = try await test.send(.patch, "/whip/r/s")
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers[.allow] == "DELETE")
        #expect(!body.contains("DELETE"))
    }

    @Test func refusalsAreLoggedAtDebugAndServerFaultsAtErrorWithTheirDetail() async throws {
        let test = TestRouter.withServerMiddleware()
        test.router.get("/refused") { _, _ -> Response in throw Problem(status: 409, code: "room-exists", title: "t", detail: "secret-ish") }
        test.router.get("/failed") { _, _ -> Response in throw Problem(status: 500, code: "store-failed", title: "t", detail: "disk full") }
        test.router.get("/fine") { _, _ in "ok" }
        _ = try await test.send(.get, "/refused")
        _ = try await test.send(.get, "/failed")
        _ = try await test.send(.get, "/fine")
        let records = test.logs.all
        #expect(records.count == 2)
        let refused = try #require(records.first { $0.metadata["problem"] == "room-exists" })
        #expect(refused.level == .debug && refused.metadata["status"] == "409" && refused.metadata["path"] == "/refused")
        #expect(refused.metadata["detail"] == nil)
        let failed = try #require(records.first { $0.metadata["problem"] == "store-failed" })
        #expect(failed.level == .error && failed.metadata["detail"] == "disk full" && failed.metadata["method"] == "GET")
    }

    @Test func theAdminKeyRefusalNamesItsRealmAndTheRightKeyPasses() async throws {
        let test = TestRouter.withServerMiddleware()
        let key = AdminKey("0123456789abcdef0123")
        test.router.group("api").add(middleware: AdminAuthMiddleware(key: key)).get("rooms") { _, _ in "[]" }
        for (authorization, code) in [(nil, "admin-key-missing"), ("Bearer wrong-key-of-some-length", "admin-key-invalid")] {
            var headers = HTTPFields()
            if let authorization { headers[.authorization] = authorization }
            let (response, body) = try await test.send(.get, "/api/rooms", headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="sabha-admin""#)
            #expect(try JSONDecoder().decode(Problem.self, from: Data(body.utf8)).code == code)
        }
        let (response, body) = try await test.send(.get, "/api/rooms", headers: [.authorization: "Bearer 0123456789abcdef0123"])
        #expect(response.status == .ok && body == "[]")
    }
}
