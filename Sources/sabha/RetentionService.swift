import Foundation
import Logging
import ServiceLifecycle
import Signalling

/// Prunes the store to its retention at start and every six hours, and says what it deleted. A failure (a locked
/// or full disk) is logged and tried again at the next round; nothing else waits on it.
struct RetentionService: Service {
    static let interval: Duration = .seconds(6 * 3600)

    let store: SabhaStore
    let retention: SabhaStore.Retention
    let logger: Logger

    func run() async {
        guard retention.audit != nil || retention.chat != nil || retention.outbox != nil else { return }
        repeat {
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
