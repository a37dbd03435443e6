import CMediaShims
import Glibc

/// An eventfd that wakes a thread sleeping in poll(): the doorbell that goes with a ring.
final class WakeSignal: Sendable {
    let fd: Int32

    init() throws(MediaError) {
        let fd = sabha_eventfd()
        guard fd >= 0 else { throw MediaError.socket("eventfd failed: errno \(-fd)") }
        self.fd = fd
    }

    deinit { close(fd) }

    func signal() { sabha_eventfd_signal(fd) }

    func drain() { _ = sabha_eventfd_drain(fd) }
}
