import Foundation
import Logging
import ServiceLifecycle
import Recording
import Signalling

/// Prunes the store to its retention, and deletes recordings past theirs (`--recording-retention-days`), at start
/// and every six hours, and says what it deleted. A failure (a locked
/// or full disk) is logged and tried again at the next round; nothing else waits on it.
struct RetentionService: Service {
    static let interval: Duration = .seconds(6 * 3600)

    let store: any RoomStore
    let retention: StoreRetention
    /// Finished recordings, kept this many days (0: for ever).
    let recordings: RecordingLibrary
    let recordingDays: Int
    let logger: Logger

    func run() async {
        guard retention.audit != nil || retention.chat != nil || retention.outbox != nil || recordingDays > 0 else { return }
        repeat {
            let deleted = recordings.prune(olderThan: recordingDays)
            if !deleted.isEmpty {
                logger.notice("deleted recordings past their retention", metadata: ["recordings": "\(deleted.joined(separator: ","))", "days": "\(recordingDays)"])
            }
            do {
                let pruned = try store.prune(retention)
                if pruned.total > 0 {
                    logger.notice("pruned the store to its retention", metadata: ["deleted": "\(pruned)", "keeping": "\(RetentionOptions.describe(retention))"])
                }
            } catch {
                logger.error("pruning the store failed; trying again in 6 h", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.interval) }
        } while !Task.isCancelled && !Task.isShuttingDownGracefully
    }
}
