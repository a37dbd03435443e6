import Synchronization
import Testing
@testable import Scheduling

/// The outbox relay's lanes sleep on a doorbell. Only a ring may carry over to the next wait; a wait that ended by
/// its timeout or by a ring must leave nothing behind, or the next wait returns at once and the lane spins.
@Suite(.timeLimit(.minutes(1)))
struct DoorbellTests {
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// Waits with a long timeout while another task rings after a short pause; true when the wait ended because of
    /// that ring (the flag is set before the ring), false when it returned before anyone rang.
    static func waitEndsOnlyByTheNextRing(_ doorbell: Doorbell) async -> Bool {
        let rang = Flag()
        let ringer = Task {
            try? await Task.sleep(for: .milliseconds(200))
            rang.set()
            doorbell.ring()
        }
        await doorbell.wait(timeout: .seconds(600))
        let result = rang.isSet
        await ringer.value
        return result
    }

    @Test func aWaitEndedByARingLeavesNoRingForTheNextWait() async {
        let doorbell = Doorbell()
        doorbell.ring()
        await doorbell.wait(timeout: .seconds(600))  // the remembered ring
        #expect(await Self.waitEndsOnlyByTheNextRing(doorbell))
        #expect(await Self.waitEndsOnlyByTheNextRing(doorbell))
    }

    @Test func aWaitEndedByItsTimeoutLeavesNoRingForTheNextWait() async {
        let doorbell = Doorbell()
        await doorbell.wait(timeout: .milliseconds(10))
        try? await Task.sleep(for: .milliseconds(50))  // the old timer task rang here, after its wait was over
        #expect(await Self.waitEndsOnlyByTheNextRing(doorbell))
    }

    @Test func aRingWhileNobodyWaitsIsKeptForTheNextWait() async {
        let doorbell = Doorbell()
        doorbell.ring()
        let ended = Flag()
        let waiter = Task {
            await doorbell.wait(timeout: .seconds(600))
            ended.set()
        }
        await waiter.value
        #expect(ended.isSet)
    }

    @Test func cancellingTheWaitingTaskEndsTheWaitAndLeavesNoRing() async {
        let doorbell = Doorbell()
        let waiter = Task { await doorbell.wait(timeout: .seconds(600)) }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await doorbell.wait(timeout: .seconds(600))
        }
        await cancelledFirst.value
        #expect(await Self.waitEndsOnlyByTheNextRing(doorbell))
    }
}
