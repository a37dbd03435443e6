import Foundation
import GroupwareBridge
import Logging
import Scheduling
import Signalling

extension SabhaApplication {
    /// Collects answers when there is somewhere to read them: the reply mailbox, the organizer's calendar, or both.
    static func replyCollector(_ settings: GroupwareSettings, scheduler: MeetingScheduler, organizerCalendar: CalDAVClient?,
                               placement: RoomPlacement?) -> ReplyCollector? {
        let mailbox = settings.imap.map { configuration in
            let client = IMAPClient(configuration: configuration, logger: Logger(label: "sabha.imap"))
            return ReplyMailbox(
                name: configuration.description, store: scheduler.store,
                fetch: { after, validity in
                    let result = try await client.fetchMessages(after: after, uidValidity: validity)
                    return ReplyMailbox.Batch(uidValidity: result.uidValidity, messages: result.messages.map { ($0.uid, $0.bytes) },
                                              highestUID: result.highestUID, more: result.more)
                },
                reader: { mail in try IMIPReply(mail: mail) },
                logger: Logger(label: "sabha.replies"))
        }
        guard mailbox != nil || organizerCalendar != nil else { return nil }
        return ReplyCollector(scheduler: scheduler, organizerCalendar: organizerCalendar, mailbox: mailbox,
                              interval: .milliseconds(Int(settings.replyInterval * 1000)),
                              mayRun: Self.job("reply-collector", every: settings.replyInterval, placement), logger: Logger(label: "sabha.replies"))
    }

    /// Whether this node runs a single-instance job this round: always alone; in a cluster, while it holds the job's
    /// lease (kept for two rounds and the heartbeat's dead time, so it moves only when its node is gone).
    static func job(_ name: String, every interval: TimeInterval, _ placement: RoomPlacement?) -> @Sendable () -> Bool {
        guard let placement else { return { true } }
        return { placement.holdJob(name, for: 2 * interval + ClusterNode.deadAfter) }
    }

    /// The room's scheduled meeting's invited people with their answers, for its hosts.
    static func invited(_ room: String, store: any MeetingStore) -> [MeetingWire.InvitedInfo] {
        guard let meeting = try? store.meeting(room: room), let attendees = try? store.attendees(of: meeting.id) else { return [] }
        return attendees.filter { $0.status == .invited }.map {
            MeetingWire.InvitedInfo(identity: $0.email, name: $0.name, role: $0.role.rawValue, answer: $0.answer.wire, comment: $0.answerComment)
        }
    }
}
