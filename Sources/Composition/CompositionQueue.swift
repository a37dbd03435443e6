import Foundation
import Logging
import Recording

/// Composes finished recordings one at a time, on a thread of its own at a lower CPU priority (nice 10) than the
/// media workers, so that composing never takes time from forwarding. Each recording's `composition.json` says where
/// it stands (pending, running with its progress, done, failed), so the admin API and `sabha recording status` read
/// the state from disk, and a composition that a restart interrupted is queued again at start.
public final class CompositionQueue: @unchecked Sendable {
    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [String] = []
    private var running: String?
    private var cancelled: Set<String> = []
    private var stopping = false
    private var started = false

    private let settings: Composer.Settings
    private let logger: Logger
    /// The composing thread's nice value (0...19): 10 by default.
    public let niceness: Int32

    public init(settings: Composer.Settings = Composer.Settings(), niceness: Int32 = 10, logger: Logger) {
        self.settings = settings
        self.niceness = niceness
        self.logger = logger
    }

    /// Queues `folder` (a stopped recording's) and marks it pending.
    public func enqueue(folder: String) {
        do {
            try CompositionReport(state: .pending).write(folder: folder)
        } catch {
            logger.error("cannot queue a recording's composition", metadata: ["folder": "\(folder)", "error": "\(error)"])
            return
        }
        condition.lock()
        defer { condition.unlock() }
        guard !jobs.contains(folder), running != folder else { return }
        cancelled.remove(folder)
        jobs.append(folder)
        startIfNeeded()
        condition.signal()
    }

    /// Queues every recording under `directory` whose composition was pending or running when the server stopped.
    public func resume(in directory: String) {
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        for name in folders {
            let folder = "\(directory)/\(name)"
            guard let report = CompositionReport.read(folder: folder), report.state == .pending || report.state == .running else { continue }
            logger.info("resuming a recording's composition", metadata: ["folder": "\(folder)"])
            enqueue(folder: folder)
        }
    }

    /// Forgets `folder` (its recording is being deleted): taken off the queue, or stopped if it is being composed.
    public func cancel(folder: String) {
        condition.lock()
        jobs.removeAll { $0 == folder }
        if running == folder { cancelled.insert(folder) }
        condition.unlock()
    }

    /// Stops the thread; a composition in progress stops and stays pending, for the next start.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until nothing is queued or running (tests and `sabha recording compose`), at most `timeout`.
    public func waitUntilIdle(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while !jobs.isEmpty || running != nil {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    private func startIfNeeded() {
        guard !started else { return }
        started = true
        Thread { [self] in run() }.start()
    }

    private func run() {
        // Named for top -H and /proc/<pid>/task/*/comm (15 bytes at most).
        Thread.current.name = "sabha-compose"
        // On Linux the nice value is the calling thread's own (setpriority(2), NPTL).
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) != 0 {
            logger.notice("cannot lower the composing thread's priority", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
        while let folder = next() {
            compose(folder)
            condition.lock()
            running = nil
            cancelled.remove(folder)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func next() -> String? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !stopping { condition.wait() }
        guard !stopping else { return nil }
        running = jobs.removeFirst()
        return running
    }

    private func shouldStop(_ folder: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping || cancelled.contains(folder)
    }

    private func compose(_ folder: String) {
        try? CompositionReport(state: .running).write(folder: folder)
        logger.info("composing a recording", metadata: ["folder": "\(folder)"])
        var lastWrite = ContinuousClock.now
        do throws(CompositionError) {
            let report = try Composer(folder: folder, settings: settings).compose(progress: { progress in
                guard ContinuousClock.now - lastWrite >= .seconds(1) else { return }
                lastWrite = ContinuousClock.now
                try? CompositionReport(state: .running, progress: progress).write(folder: folder)
            }, shouldStop: { shouldStop(folder) })
            try? report.write(folder: folder)
            logger.notice("recording composed", metadata: ["folder": "\(folder)", "duration-ms": "\(report.duration ?? 0)",
                                                           "elapsed-ms": "\(report.elapsedMs ?? 0)", "warnings": "\(report.warnings?.count ?? 0)"])
        } catch .cancelled {
            // Stopping for a restart: pending again, and queued at the next start. Deleted: the folder is gone.
            if FileManager.default.fileExists(atPath: folder + "/recording.json") { try? CompositionReport(state: .pending).write(folder: folder) }
            logger.info("composition stopped", metadata: ["folder": "\(folder)"])
        } catch {
            try? CompositionReport(state: .failed, error: error.description).write(folder: folder)
            logger.error("composition failed", metadata: ["folder": "\(folder)", "error": "\(error)"])
        }
    }
}
