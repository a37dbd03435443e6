import ServiceLifecycle
import Signalling

/// The audit recorder's writer in the service group. It stops after the HTTP server, so what the closing meeting
/// sockets caused is queued by then; graceful shutdown ends the queue and the writer stores what it holds.
struct AuditWriterService: Service {
    let recorder: AuditRecorder

    func run() async {
        await withGracefulShutdownHandler {
            await recorder.run()
        } onGracefulShutdown: { [recorder] in
            recorder.finish()
        }
    }
}
