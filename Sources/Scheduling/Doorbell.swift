import Synchronization

/// Wakes one waiting task: the outbox relay sleeps until the next item is due or something new is queued.
/// A ring while nobody waits is remembered, so a wake-up between "looked" and "slept" is not lost.
///
/// Only `ring()` is remembered. A wait's own timeout or cancellation ends that wait and nothing else: an
/// earlier version rang the bell from the timeout task even after it was cancelled, so every wait left a ring
/// behind for the next one and the relay's lanes looped without sleeping (a whole core on an idle server).
final class Doorbell: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, Never>
    }
    private struct State {
        var rung = false
        var waiter: Waiter?
        var nextID: UInt64 = 0
        /// A wait whose timeout or cancellation came before it was parked: it must not park.
        var ended: UInt64?
    }
    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> Waiter? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.continuation.resume()
    }

    /// Returns when rung, after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let timer = Task { [weak self] in
            // A cancelled sleep throws: the wait ended some other way and the timer must do nothing.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.end(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    if state.ended == id { return true }
                    state.waiter = Waiter(id: id, continuation: continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.end(id)
        }
        timer.cancel()
    }

    /// Ends wait `id` (its timeout passed or its task was cancelled) without leaving a ring behind.
    private func end(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            if let waiter = state.waiter, waiter.id == id {
                state.waiter = nil
                return waiter
            }
            state.ended = id
            return nil
        }
        waiter?.continuation.resume()
    }
}
