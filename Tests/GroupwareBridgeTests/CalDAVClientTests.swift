import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import GroupwareBridge
import GroupwareTestSupport

/// CalDAVClient against a real Radicale (from `<repo>/.venv`), one server for the suite and one
/// calendar per test.
@Suite(
    .enabled(if: RadicaleServer.hasRadicale, "needs radicale in <repo>/.venv: run tools/setup.sh"),
    .radicale,
    .timeLimit(.minutes(1))
)
struct CalDAVClientTests {
    var server: RadicaleServer {
        get throws { try #require(RadicaleServer.current) }
    }

    // MARK: single resources

    @Test func createThenGetReturnsTheBodyAndETag() async throws {
        let client = try await server.freshCalendar()
        let ics = CalDAVSample.event(uid: "m-abc@sabha")
        let etag = try #require(try await client.put(ics, resource: "m-abc.ics", condition: .create))
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))

        let resource = try #require(try await client.get("m-abc.ics"))
        #expect(resource.etag == etag)
        #expect(resource.href == (try client.target(nil)).path + "m-abc.ics")
        #expect(resource.body.contains("UID:m-abc@sabha\r\n"))
        #expect(resource.body.contains("SUMMARY:Quarterly review\r\n"))
        // The absolute href from the server addresses the same resource.
        #expect(try await client.get(resource.href) == resource)
    }

    @Test func secondCreateFailsItsPrecondition() async throws {
        let client = try await server.freshCalendar()
        try await client.put(CalDAVSample.event(uid: "m-1"), resource: "m-1.ics", condition: .create)
        let error = await #expect(throws: CalDAVError.self) {
            try await client.put(CalDAVSample.event(uid: "m-1", summary: "other"), resource: "m-1.ics", condition: .create)
        }
        #expect(error == .preconditionFailed)
        #expect(error?.isTransient == false)
        #expect(try await client.get("m-1.ics")?.body.contains("SUMMARY:Quarterly review") == true)
    }

    @Test func replaceWithTheCurrentETagWorksAndWithAStaleOneFails() async throws {
        let client = try await server.freshCalendar()
        let first = try #require(try await client.put(CalDAVSample.event(uid: "m-2"), resource: "m-2.ics", condition: .create))
        let second = try #require(try await client.put(
            CalDAVSample.event(uid: "m-2", summary: "Moved"), resource: "m-2.ics", condition: .replace(etag: first)))
        #expect(second != first)
        #expect(try await client.get("m-2.ics")?.body.contains("SUMMARY:Moved") == true)

        let error = await #expect(throws: CalDAVError.self) {
            try await client.put(CalDAVSample.event(uid: "m-2", summary: "Lost"), resource: "m-2.ics", condition: .replace(etag: first))
        }
        #expect(error == .preconditionFailed)
        #expect(try await client.get("m-2.ics")?.etag == second)
    }

    @Test func unconditionalPutOverwrites() async throws {
        let client = try await server.freshCalendar()
        try await client.put(CalDAVSample.event(uid: "m-3"), resource: "m-3.ics", condition: .any)
        try await client.put(CalDAVSample.event(uid: "m-3", summary: "Again"), resource: "m-3.ics", condition: .any)
        #expect(try await client.get("m-3.ics")?.body.contains("SUMMARY:Again") == true)
    }

    @Test func getOfAMissingResourceIsNil() async throws {
        let client = try await server.freshCalendar()
        #expect(try await client.get("nothing-here.ics") == nil)
    }

    @Test func deleteWithTheETagRemovesAndAStaleETagIsRefused() async throws {
        let client = try await server.freshCalendar()
        let etag = try #require(try await client.put(CalDAVSample.event(uid: "m-4"), resource: "m-4.ics", condition: .create))
        let error = await #expect(throws: CalDAVError.self) {
            try await client.delete("m-4.ics", ifMatch: "\"not-the-etag\"")
        }
        #expect(error == .preconditionFailed)
        #expect(try await client.get("m-4.ics") != nil)

        try await client.delete("m-4.ics", ifMatch: etag)
        #expect(try await client.get("m-4.ics") == nil)
    }

    @Test func deletingWhatIsGoneIsFine() async throws {
        let client = try await server.freshCalendar()
        try await client.delete("never-existed.ics", ifMatch: nil)
        try await client.put(CalDAVSample.event(uid: "m-5"), resource: "m-5.ics", condition: .create)
        try await client.delete("m-5.ics", ifMatch: nil)
        try await client.delete("m-5.ics", ifMatch: nil)
    }

    /// A name with a space and an "@" is percent-encoded once; the server's href for it works as is.
    @Test func namesAreEncodedAndHrefsPassThrough() async throws {
        let client = try await server.freshCalendar()
        try await client.put(CalDAVSample.event(uid: "x"), resource: "room 42@sabha.ics", condition: .create)
        let listed = try await client.listEvents()
        #expect(listed.count == 1)
        let href = try #require(listed.keys.first)
        #expect(href.hasSuffix("/room%2042%40sabha.ics") || href.hasSuffix("/room%2042@sabha.ics"))
        #expect(try await client.get(href)?.href == href)
        #expect(try await client.get("room 42@sabha.ics") != nil)
        #expect(try await client.get(String(href.split(separator: "/").last!)) != nil)
    }

    // MARK: the collection

    @Test func makeCalendarTwiceReportsThatItExists() async throws {
        let client = try await server.freshCalendar()
        #expect(try await client.makeCalendar() == false)
    }

    @Test func collectionTagChangesAfterAWrite() async throws {
        let client = try await server.freshCalendar()
        let before = try await client.collectionTag()
        #expect(before.ctag != nil)
        #expect(before.syncToken != nil)
        try await client.put(CalDAVSample.event(uid: "m-6"), resource: "m-6.ics", condition: .create)
        let after = try await client.collectionTag()
        #expect(after.ctag != nil && after.ctag != before.ctag)
        #expect(after.syncToken != nil && after.syncToken != before.syncToken)
        #expect(try await client.collectionTag() == after)
    }

    @Test func syncCollectionReportsAddsChangesAndRemovals() async throws {
        let client = try await server.freshCalendar()
        let empty = try await client.syncCollection(since: nil)
        #expect(empty.changed.isEmpty && empty.removed.isEmpty)
        #expect(!empty.token.isEmpty)

        let a = try #require(try await client.put(CalDAVSample.event(uid: "a"), resource: "a.ics", condition: .create))
        let b = try #require(try await client.put(CalDAVSample.event(uid: "b"), resource: "b.ics", condition: .create))
        let initial = try await client.syncCollection(since: nil)
        let path = try client.target(nil).path
        #expect(initial.changed == [path + "a.ics": a, path + "b.ics": b])
        #expect(initial.removed.isEmpty)

        let sinceEmpty = try await client.syncCollection(since: empty.token)
        #expect(sinceEmpty.changed == initial.changed)

        let unchanged = try await client.syncCollection(since: initial.token)
        #expect(unchanged.changed.isEmpty && unchanged.removed.isEmpty)

        let a2 = try #require(try await client.put(
            CalDAVSample.event(uid: "a", summary: "Changed"), resource: "a.ics", condition: .replace(etag: a)))
        try await client.delete("b.ics", ifMatch: b)
        let c = try #require(try await client.put(CalDAVSample.event(uid: "c"), resource: "c.ics", condition: .create))
        let incremental = try await client.syncCollection(since: initial.token)
        #expect(incremental.changed == [path + "a.ics": a2, path + "c.ics": c])
        #expect(incremental.removed == [path + "b.ics"])
        #expect(incremental.token != initial.token)

        let quiet = try await client.syncCollection(since: incremental.token)
        #expect(quiet.changed.isEmpty && quiet.removed.isEmpty)
    }

    @Test(arguments: ["http://radicale.org/ns/sync/0000", "bogus", "<&>\"'"])
    func bogusSyncTokenIsReportedAsInvalid(token: String) async throws {
        let client = try await server.freshCalendar()
        let error = await #expect(throws: CalDAVError.self) { try await client.syncCollection(since: token) }
        #expect(error == .syncTokenInvalid)
        #expect(error?.isTransient == false)
    }

    @Test func listEventsAndMultigetReturnTheBodies() async throws {
        let client = try await server.freshCalendar()
        var etags: [String: String] = [:]
        let path = try client.target(nil).path
        for uid in ["p", "q", "r"] {
            etags[path + "\(uid).ics"] = try await client.put(CalDAVSample.event(uid: uid), resource: "\(uid).ics", condition: .create)
        }
        let listed = try await client.listEvents()
        #expect(listed == etags)

        let fetched = try await client.fetch(Array(listed.keys) + [path + "missing.ics"])
        #expect(fetched.count == 3)
        for resource in fetched {
            #expect(resource.etag == etags[resource.href])
            let uid = resource.href.dropFirst(path.count).dropLast(4)
            #expect(resource.body.contains("UID:\(uid)\r\n"))
            // The same text GET returns, line ends included.
            #expect(try await client.get(resource.href)?.body == resource.body)
        }
        #expect(try await client.fetch([]) == [])
    }

    @Test func emptyCalendarListsNothing() async throws {
        let client = try await server.freshCalendar()
        #expect(try await client.listEvents().isEmpty)
    }

    /// Each request is logged at debug with method, path and status; the password and the Basic
    /// credentials never appear, nor does calendar content.
    @Test func requestsAreLoggedWithoutCredentials() async throws {
        struct Entry: Sendable {
            var level: Logger.Level
            var message: String
            var metadata: [String: String]
        }
        struct Recorder: LogHandler {
            let entries: NIOLockedValueBox<[Entry]>
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                let all = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
                entries.withLockedValue { $0.append(Entry(level: event.level, message: "\(event.message)", metadata: all)) }
            }
        }
        let entries = NIOLockedValueBox<[Entry]>([])
        let path = try await server.freshCalendar().target(nil).path
        let client = CalDAVClient(
            configuration: try server.configuration(path: path),
            logger: Logger(label: "test") { _ in Recorder(entries: entries) })
        try await client.put(CalDAVSample.event(uid: "logged", summary: "Secret agenda"), resource: "l.ics", condition: .create)
        _ = try await client.get("l.ics")
        let logged = entries.withLockedValue { $0 }
        #expect(logged.map(\.level) == [.debug, .debug])
        #expect(logged.map(\.message) == ["caldav request", "caldav request"])
        #expect(logged.map { $0.metadata["caldav.method"] } == ["PUT", "GET"])
        #expect(logged.map { $0.metadata["caldav.path"] } == [path + "l.ics", path + "l.ics"])
        #expect(logged.map { $0.metadata["caldav.status"] } == ["201", "200"])
        let basic = Data("\(RadicaleServer.user):\(RadicaleServer.password)".utf8).base64EncodedString()
        for entry in logged {
            let text = "\(entry.message) \(entry.metadata)"
            #expect(!text.contains(RadicaleServer.password) && !text.contains(basic) && !text.contains("Secret agenda"))
        }
    }

    // MARK: failures

    @Test func wrongPasswordIsUnauthorizedAndPermanent() async throws {
        let good = try await server.freshCalendar()
        let client = CalDAVClient(configuration: try server.configuration(
            path: try good.target(nil).path, password: "wrong"))
        let error = await #expect(throws: CalDAVError.self) { try await client.collectionTag() }
        #expect(error == .unauthorized)
        #expect(error?.isTransient == false)
        #expect(!String(describing: error!).contains("wrong"))
        let putError = await #expect(throws: CalDAVError.self) {
            try await client.put(CalDAVSample.event(uid: "x"), resource: "x.ics", condition: .create)
        }
        #expect(putError == .unauthorized)
    }

    /// owner_only: alice may not read bob's collections.
    @Test func someoneElsesCollectionIsUnauthorized() async throws {
        let client = CalDAVClient(configuration: try server.configuration(path: "/bob/calendar/"))
        let error = await #expect(throws: CalDAVError.self) { try await client.listEvents() }
        #expect(error == .unauthorized)
    }

    @Test func missingCollectionIsNotFound() async throws {
        let client = CalDAVClient(configuration: try server.configuration(path: "/\(RadicaleServer.user)/no-such-calendar/"))
        let error = await #expect(throws: CalDAVError.self) { try await client.collectionTag() }
        #expect(error == .notFound)
    }

    @Test func foreignOriginsAndBadNamesAreRefusedBeforeSending() async throws {
        let client = try await server.freshCalendar()
        for resource in ["http://example.com/alice/x.ics", "https://127.0.0.1:\(try server.port)/x.ics", "", "..", "a/b.ics", "/a b.ics"] {
            let error = await #expect(throws: CalDAVError.self) { try await client.get(resource) }
            guard case .invalidURL = error else { Issue.record("\(resource): got \(String(describing: error))"); continue }
        }
    }
}

/// CalDAVClient where nothing or something silent listens.
@Suite(.timeLimit(.minutes(1)))
struct CalDAVClientTransportTests {
    @Test func serverNotRunningIsATransientTransportError() async throws {
        let port = try await SMTPTestEnvironment.freePort()
        var configuration = try CalDAVConfiguration(
            collectionURL: "http://127.0.0.1:\(port)/alice/calendar", username: "alice", password: "secret")
        configuration.timeout = .seconds(2)
        let client = CalDAVClient(configuration: configuration)
        let start = ContinuousClock.now
        let error = await #expect(throws: CalDAVError.self) { try await client.get("m.ics") }
        guard case .transport = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
        #expect(ContinuousClock.now - start < .seconds(30), "bounded, not hanging (generous: CI machines are loaded)")
        #expect(!String(describing: error!).contains("secret"))
    }

    /// A server that accepts and never answers: the request ends at the timeout.
    @Test func silentServerTimesOut() async throws {
        let server = try await RawTCPServer()
        var configuration = try CalDAVConfiguration(
            collectionURL: "http://127.0.0.1:\(server.port)/alice/calendar/", username: nil, password: nil)
        configuration.timeout = .milliseconds(400)
        let client = CalDAVClient(configuration: configuration)
        let start = ContinuousClock.now
        let error = await #expect(throws: CalDAVError.self) { try await client.syncCollection(since: nil) }
        let elapsed = ContinuousClock.now - start
        await server.stop()
        guard case .transport = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
        #expect(elapsed >= .milliseconds(400))
        #expect(elapsed < .seconds(30), "bounded by the timeout, not hanging (generous: CI machines are loaded)")
    }

    /// Answers that are not a usable multistatus: garbage with 207, busy servers, a client error.
    @Test(arguments: [
        ("HTTP/1.1 207 Multi-Status\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot xml!!", false),
        ("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy", true),
        ("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true),
        ("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\u{1}", false),
    ])
    func unusableAnswers(answer: String, transient: Bool) async throws {
        let server = try await OneShotHTTPServer(answer: answer)
        var configuration = try CalDAVConfiguration(
            collectionURL: "http://127.0.0.1:\(server.port)/alice/calendar/", username: nil, password: nil)
        configuration.timeout = .seconds(5)
        let error = await #expect(throws: CalDAVError.self) { try await CalDAVClient(configuration: configuration).listEvents() }
        await server.stop()
        #expect(error?.isTransient == transient)
        switch error {
        case .badResponse?: #expect(!transient)
        case .http(let status, let detail)?:
            #expect([503, 429, 400].contains(status))
            #expect(!detail.contains("\u{1}"))
        default: Issue.record("got \(String(describing: error))")
        }
    }
}
