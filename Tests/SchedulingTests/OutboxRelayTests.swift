import Foundation
import Logging
import ServiceLifecycle
import Testing
import GroupwareBridge
@testable import Scheduling
import GroupwareTestSupport

/// The relay against a real SMTP server (aiosmtpd): an outage keeps items pending with the reason, a later relay on
/// the same store (a restarted server) sends each exactly once.
@Suite(
    .enabled(if: SMTPTestEnvironment.hasAiosmtpd, "needs aiosmtpd in <repo>/.venv: run tools/setup.sh"),
    .timeLimit(.minutes(2))
)
struct OutboxRelayTests {
    static func mailer(port: Int) throws -> SMTPClient {
        try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: port, security: .off,
                                                        connectTimeout: .seconds(2), commandTimeout: .seconds(5)))
    }

    /// Waits, at most 20 s, until every item of the meeting is sent.
    static func waitUntilSent(_ store: any MeetingStore, meeting: String) async throws {
        // Generous: under CI's load (every suite's servers starting at once) aiosmtpd took 15 s for a first message.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try store.outbox(meeting: meeting).contains(where: { $0.state != .sent }) {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func anOutageKeepsInvitationsPendingAndTheyGoOutExactlyOnceLater() async throws {
        let scheduler = try MeetingSchedulerTests.scheduler(mail: true, calendar: false)
        let store = scheduler.store
        let meeting = try await scheduler.create(try MeetingSchedulerTests.draft())

        // Nothing listens on this port: connection refused, a transient failure.
        let deadPort = try await SMTPTestEnvironment.freePort()
        let down = OutboxRelay(store: store, channels: .init(mailer: try Self.mailer(port: deadPort), envelopeFrom: "meet@dept.gov.in"),
                               retryDelay: 0.05, logger: Logger(label: "test"))
        await down.drain()
        var items = try store.outbox(meeting: meeting.meeting.id)
        #expect(items.count == 2)
        #expect(items.allSatisfy { $0.state == .pending && $0.attempts == 1 && $0.lastError?.contains("connection") == true })

        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let up = OutboxRelay(store: store, channels: .init(mailer: try Self.mailer(port: server.port), envelopeFrom: "meet@dept.gov.in"),
                             retryDelay: 0.05, logger: Logger(label: "test"))
        try await Task.sleep(for: .milliseconds(150))  // past the first retry delay
        await up.drain()
        await up.drain()
        items = try store.outbox(meeting: meeting.meeting.id)
        #expect(items.allSatisfy { $0.state == .sent && $0.sentAt != nil })
        let deliveries = try server.deliveries()
        #expect(deliveries.keys.sorted() == ["1-asha@example.in.eml", "2-ravi@example.in.eml"])
        let first = String(decoding: deliveries["1-asha@example.in.eml"] ?? [], as: UTF8.self)
        #expect(first.contains("text/calendar; charset=UTF-8; method=REQUEST"))
    }

    @Test func theRunLoopSendsWhatIsQueuedWhenWoken() async throws {
        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let scheduler = try MeetingSchedulerTests.scheduler(mail: true, calendar: false)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(mailer: try Self.mailer(port: server.port), envelopeFrom: "meet@dept.gov.in"),
                                retryDelay: 0.05, logger: Logger(label: "test"))
        let running = Task { await relay.run() }
        defer { running.cancel() }
        let meeting = try await scheduler.create(try MeetingSchedulerTests.draft())
        relay.wake()
        try await Self.waitUntilSent(scheduler.store, meeting: meeting.meeting.id)
        #expect(try scheduler.store.outbox(meeting: meeting.meeting.id).allSatisfy { $0.state == .sent })
        #expect(try server.deliveries().count == 2)
    }

    /// As in `sabha serve`'s service group: the relay sends what is queued, and graceful shutdown ends both lanes (the
    /// group returns without cancelling anything; before, the relay ran until it was cancelled).
    @Test func inAServiceGroupTheRelaySendsAndStopsOnGracefulShutdown() async throws {
        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let scheduler = try MeetingSchedulerTests.scheduler(mail: true, calendar: false)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(mailer: try Self.mailer(port: server.port), envelopeFrom: "meet@dept.gov.in"),
                                retryDelay: 0.05, logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [relay], logger: Logger(label: "test")))
        // A child task: when the time limit cancels the test, the group is cancelled too, so a relay or watcher
        // that ignores graceful shutdown fails the test instead of hanging it.
        async let running: Void = group.run()
        let meeting = try await scheduler.create(try MeetingSchedulerTests.draft())
        relay.wake()
        try await Self.waitUntilSent(scheduler.store, meeting: meeting.meeting.id)
        #expect(try scheduler.store.outbox(meeting: meeting.meeting.id).allSatisfy { $0.state == .sent })
        await group.triggerGracefulShutdown()
        try await running
        #expect(try server.deliveries().count == 2, "each sent once")
    }

    @Test func withoutAMailerInvitationsWaitWithTheReason() async throws {
        let scheduler = try MeetingSchedulerTests.scheduler(mail: true, calendar: false)
        let relay = OutboxRelay(store: scheduler.store, channels: .init(mailer: nil, envelopeFrom: ""), retryDelay: 0.05, logger: Logger(label: "test"))
        let meeting = try await scheduler.create(try MeetingSchedulerTests.draft())
        await relay.drain()
        let items = try scheduler.store.outbox(meeting: meeting.meeting.id)
        #expect(items.allSatisfy { $0.state == .pending && $0.lastError?.contains("SABHA_SMTP_URL") == true },
                "no mailer: kept for when one is configured")
    }
}
