import Foundation
import Logging

/// Carries the meeting hub's audit events to the store in order, off the hub's actor: the hub only appends to a
/// queue, so a slow disk never holds up a meeting. Rooms that people join without having been created through
/// the API are stored on their first "joined" (source "join"); an "ended" marks the room ended. Events the hub
/// sends without an address (left, disconnected, removed, ...) get the one the participant joined or resumed from.
public struct AuditRecorder: Sendable {
    private let store: any RoomStore
    private let events: AsyncStream<(MeetingHub.AuditEvent, Date)>
    private let input: AsyncStream<(MeetingHub.AuditEvent, Date)>.Continuation
    /// Called once a room's end is stored: `by` is "host" or "admin" (a room-ended) or "empty" (closed after the last
    /// person left). The attendance report is made from the trail, so it must come after the trail is written.
    private let roomEnded: @Sendable (_ room: String, _ by: String, _ at: Date) -> Void
    private let logger = Logger(label: "sabha.store")

    public init(store: any RoomStore, roomEnded: @escaping @Sendable (_ room: String, _ by: String, _ at: Date) -> Void = { _, _, _ in }) {
        self.store = store
        self.roomEnded = roomEnded
        (events, input) = AsyncStream.makeStream(of: (MeetingHub.AuditEvent, Date).self)
    }

    /// The hub's audit sink: stamps the event with the current time and queues it.
    public var sink: @Sendable (MeetingHub.AuditEvent) -> Void {
        { [input] event in input.yield((event, Date())) }
    }

    /// Writes queued events until `finish()` is called (and the queue is drained) or the task is cancelled.
    public func run() async {
        var addresses: [String: String] = [:]
        for await (event, at) in events {
            write(event, at: at, addresses: &addresses)
        }
    }

    /// Stops `run()` once the events queued so far are written.
    public func finish() {
        input.finish()
    }

    /// The terminal events: the participant id is not used again.
    static let finalEvents: Set<String> = ["left", "disconnected", "removed", "replaced", "ended", "role-changed"]

    func write(_ event: MeetingHub.AuditEvent, at: Date, addresses: inout [String: String]) {
        var event = event
        if let address = event.address {
            addresses[event.participant] = address
        } else {
            event.address = addresses[event.participant]
        }
        if Self.finalEvents.contains(event.event) { addresses[event.participant] = nil }
        switch event.event {
        case "joined":
            do { try store.roomJoined(event.room, at: at) } catch { logFailure("room not recorded", room: event.room, error) }
        case "ended", "closed":
            do { try store.markEnded(event.room, at: at) } catch { logFailure("room end not recorded", room: event.room, error) }
        default:
            break
        }
        store.recordAudit(AuditRecord(at: at, room: event.room, identity: event.identity, participant: event.participant,
                                      event: event.event, address: event.address, actor: event.actor, detail: event.detail))
        switch event.event {
        case "room-ended": roomEnded(event.room, event.actor == "admin" ? "admin" : "host", at)
        case "closed": roomEnded(event.room, "empty", at)
        default: break
        }
    }

    private func logFailure(_ message: Logger.Message, room: String, _ error: any Error) {
        logger.error(message, metadata: ["room": "\(room)", "error": "\(error)"])
    }
}
