import Foundation

/// Carries the meeting hub's audit events to the store in order, off the hub's actor: the hub only appends to a
/// queue, so a slow disk never holds up a meeting. Rooms that people join without having been created through
/// the API are stored on their first "joined" (source "join"); an "ended" marks the room ended.
public struct AuditRecorder: Sendable {
    private let store: SabhaStore
    private let events: AsyncStream<(MeetingHub.AuditEvent, Date)>
    private let input: AsyncStream<(MeetingHub.AuditEvent, Date)>.Continuation

    public init(store: SabhaStore) {
        self.store = store
        (events, input) = AsyncStream.makeStream(of: (MeetingHub.AuditEvent, Date).self)
    }

    /// The hub's audit sink: stamps the event with the current time and queues it.
    public var sink: @Sendable (MeetingHub.AuditEvent) -> Void {
        { [input] event in input.yield((event, Date())) }
    }

    /// Writes queued events until `finish()` is called (and the queue is drained) or the task is cancelled.
    public func run() async {
        for await (event, at) in events {
            write(event, at: at)
        }
    }

    /// Stops `run()` once the events queued so far are written.
    public func finish() {
        input.finish()
    }

    func write(_ event: MeetingHub.AuditEvent, at: Date) {
        switch event.event {
        case "joined":
            do { try store.roomJoined(event.room, at: at) } catch { store.logFailure("room not recorded", room: event.room, error) }
        case "ended":
            do { try store.markEnded(event.room, at: at) } catch { store.logFailure("room end not recorded", room: event.room, error) }
        default:
            break
        }
        store.recordAudit(AuditRecord(at: at, room: event.room, identity: event.identity, participant: event.participant,
                                      event: event.event, address: event.address))
    }
}
