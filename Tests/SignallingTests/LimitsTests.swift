import Foundation
import Testing
@testable import Signalling

/// The bookkeeping behind the limits a logged-in user cannot exceed: a meeting socket's bounded outbox, the join
/// timeout's hand-off, connections per address, and the counters /metrics shows.
@Suite struct LimitsTests {
    @Test func anOutboxPastItsLimitEndsAsAnOverflowAndTakesNothingMore() async {
        let overflows = Counter()
        let outbox = SocketOutbox(limit: 10) { overflows.add() }
        outbox.send("12345")
        outbox.send("67890")
        #expect(outbox.queuedBytes == 10 && outbox.ending == nil)
        outbox.send("x")
        #expect(outbox.ending == .overflow)
        outbox.send("more")
        outbox.finish()
        #expect(overflows.value == 1, "the overflow is reported once")
        var received: [String] = []
        for await text in outbox.stream { received.append(text) }
        #expect(received == ["12345", "67890"], "nothing after the overflow is queued")
    }

    @Test func aReaderThatKeepsUpNeverOverflows() {
        let outbox = SocketOutbox(limit: 10)
        for _ in 0..<1000 {
            outbox.send("0123456789")
            outbox.taken("0123456789")
        }
        #expect(outbox.ending == nil && outbox.queuedBytes == 0)
    }

    @Test func theJoinTimeoutEndsOnlyASocketThatHasNotJoined() async {
        let late = SocketOutbox(limit: 1000)
        #expect(late.endForJoinTimeout("bye"))
        #expect(late.ending == .joinTimeout)
        #expect(!late.endForJoinTimeout("bye"), "once")
        var received: [String] = []
        for await text in late.stream { received.append(text) }
        #expect(received == ["bye"])

        let joined = SocketOutbox(limit: 1000)
        joined.markJoined()
        #expect(!joined.endForJoinTimeout("bye"))
        #expect(joined.ending == nil)
        let ended = SocketOutbox(limit: 1000)
        ended.finish()
        #expect(!ended.endForJoinTimeout("bye"), "an outbox that ended for another reason keeps that reason")
        #expect(ended.ending == nil)
    }

    @Test func eachAddressHoldsAtMostItsShareOfConnections() {
        let connections = WebSocketConnections(perAddress: 2)
        #expect(connections.open("10.0.0.1") && connections.open("10.0.0.1"))
        #expect(!connections.open("10.0.0.1"))
        #expect(connections.open("10.0.0.2"))
        #expect(connections.total == 3)
        connections.close("10.0.0.1")
        #expect(connections.open("10.0.0.1"))
        for _ in 0..<5 { connections.close("10.0.0.1") }
        connections.close("never-opened")
        #expect(connections.count("10.0.0.1") == 0 && connections.total == 1)
    }

    @Test func countersListEveryLimitEvenBeforeItIsReached() {
        let counters = LimitCounters()
        counters.count(.joinTimeout)
        counters.count(.inviteDomains, 3)
        let snapshot = Dictionary(uniqueKeysWithValues: counters.snapshot().map { ($0.limit.rawValue, $0.count) })
        #expect(snapshot == ["sessions-per-token": 0, "websockets-per-address": 0, "join-timeout": 1, "websocket-outbox": 0,
                             "attendees": 0, "invite-domains": 3, "offer-size": 0, "max-viewers": 0])
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }
}
