import Composition
import ServiceLifecycle

/// Runs the composition queue for the server's lifetime: at start, queues again what a restart interrupted; at
/// shutdown, stops the composition in progress (it stays pending and resumes at the next start).
struct CompositionService: Service {
    let queue: CompositionQueue
    let directory: String

    func run() async throws {
        queue.resume(in: directory)
        try? await gracefulShutdown()
        queue.shutdown()
    }
}
