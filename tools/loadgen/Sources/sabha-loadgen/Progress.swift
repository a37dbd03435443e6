import CLoadgenNet
import Foundation
import Synchronization

func log(_ text: String) {
    FileHandle.standardError.write(Data("sabha-loadgen: \(text)\n".utf8))
}

/// The once-a-second progress line on standard error, from the peer threads' snapshots.
final class Progress {
    let threads: [PeerThread]
    let start: Int64
    private var nextLineNs: Int64
    private var previous = ThreadSnapshot()
    private var previousNs: Int64

    init(threads: [PeerThread], start: Int64) {
        self.threads = threads
        self.start = start
        nextLineNs = start + 1_000_000_000
        previousNs = start
    }

    /// Sums the threads' snapshots (leaves their latency samples in place).
    func aggregate() -> ThreadSnapshot {
        collect(takeLatency: false)
    }

    private func collect(takeLatency: Bool) -> ThreadSnapshot {
        var total = ThreadSnapshot()
        for thread in threads {
            let s = thread.snapshot.withLock { shared -> ThreadSnapshot in
                let copy = shared
                if takeLatency { shared.latency.reset() }
                return copy
            }
            total.publishersConnected += s.publishersConnected
            total.publishersFailed += s.publishersFailed
            total.subscribersConnected += s.subscribersConnected
            total.subscribersFailed += s.subscribersFailed
            total.subscribersWithKeyframe += s.subscribersWithKeyframe
            total.packetsSent &+= s.packetsSent
            total.bytesSent &+= s.bytesSent
            total.packetsReceived &+= s.packetsReceived
            total.bytesReceived &+= s.bytesReceived
            total.expected += s.expected
            total.lost += s.lost
            total.authenticated &+= s.authenticated
            total.authFailures &+= s.authFailures
            total.pliReceived &+= s.pliReceived
            total.sendErrors &+= s.sendErrors
            if takeLatency { total.latency.merge(s.latency) }
        }
        return total
    }

    /// Prints a line when a second has passed since the last one.
    func tick() {
        let now = lg_monotonic_ns()
        guard now >= nextLineNs else { return }
        nextLineNs += 1_000_000_000
        if nextLineNs <= now { nextLineNs = now + 1_000_000_000 }
        let s = collect(takeLatency: true)
        let seconds = Double(now - previousNs) / 1e9
        let inRate = Double(s.packetsReceived &- previous.packetsReceived) / seconds
        let inMbit = Double(s.bytesReceived &- previous.bytesReceived) * 8 / seconds / 1e6
        let outRate = Double(s.packetsSent &- previous.packetsSent) / seconds
        let expected = s.expected - previous.expected
        let lost = s.lost - previous.lost
        let loss = expected > 0 ? 100 * Double(max(lost, 0)) / Double(expected) : 0
        let p50 = s.latency.percentile(0.5).map { String(format: "%.2f", Double($0) / 1e6) } ?? "-"
        let p99 = s.latency.percentile(0.99).map { String(format: "%.2f", Double($0) / 1e6) } ?? "-"
        let line = String(format: "[%4.0fs] ", Double(now - start) / 1e9)
            + "pub \(s.publishersConnected) sub \(s.subscribersConnected) kf \(s.subscribersWithKeyframe) fail \(s.publishersFailed + s.subscribersFailed)"
            + String(format: " | out %.0f pkt/s | in %.0f pkt/s %.1f Mbit/s | loss %.2f%%", outRate, inRate, inMbit, loss)
            + " | latency p50 \(p50) ms p99 \(p99) ms | auth-fail \(s.authFailures)"
        log(line)
        previous = s
        previousNs = now
    }
}
