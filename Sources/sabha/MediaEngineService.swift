import Logging
import MediaCore
import ServiceLifecycle
import Signalling

/// The media engine in the service group: while it runs, its events (transports closed, active speakers, layer
/// changes) go to the sessions and meetings; it is listed first, so it stops last, once nothing can ask it for media.
struct MediaEngineService: Service {
    let engine: MediaEngine
    let sessions: SessionService
    let meetings: MeetingHub
    let cascade: CascadeRelays?
    let logger: Logger

    func run() async {
        let events = MediaEventLoop(sessions: sessions, meetings: meetings, cascade: cascade)
        await cancelWhenGracefulShutdown { await events.run() }
        // Also when the group is cancelled (another service failed, e.g. the HTTP port was taken).
        await engine.shutdown()
        logger.info("media engine stopped")
    }
}
