import Foundation
import GroupwareBridge
import Logging

/// The mailbox that answers to invitations arrive in (the address invitations come from), read for iMIP REPLY
/// mails. How far it has been read (UIDVALIDITY and the last UID) is kept in the store, so every mail is looked at
/// once, across restarts, and the mailbox itself is never changed (no flags set, nothing moved or deleted): people
/// who read that mailbox see it as it was.
public final class ReplyMailbox: Sendable, CustomStringConvertible {
    /// Mails after `after` in a mailbox whose UIDVALIDITY is `uidValidity` (a different one starts over at 0).
    public struct Batch: Sendable {
        public var uidValidity: UInt32
        public var messages: [(uid: UInt32, bytes: [UInt8])]
        /// The highest UID looked at (too large ones included): where the next read starts.
        public var highestUID: UInt32
        /// More are waiting beyond this batch.
        public var more: Bool

        public init(uidValidity: UInt32, messages: [(uid: UInt32, bytes: [UInt8])], highestUID: UInt32, more: Bool) {
            self.uidValidity = uidValidity
            self.messages = messages
            self.highestUID = highestUID
            self.more = more
        }
    }

    public typealias Fetch = @Sendable (_ after: UInt32, _ uidValidity: UInt32?) async throws -> Batch
    /// Reads one mail as a REPLY; throws for a mail that is not one (most mail in that mailbox).
    public typealias Reader = @Sendable (_ mail: [UInt8]) throws -> IMIPReply

    /// The cursor's key in the store: the mailbox's URL without credentials.
    let name: String
    let store: any MeetingStore
    let fetch: Fetch
    let reader: Reader
    let logger: Logger
    /// Batches read in one round at most, so a flooded mailbox cannot hold a round forever.
    let maximumBatches = 20

    public init(name: String, store: any MeetingStore, fetch: @escaping Fetch, reader: @escaping Reader, logger: Logger) {
        self.name = name
        self.store = store
        self.fetch = fetch
        self.reader = reader
        self.logger = logger
    }

    public var description: String { name }

    /// Reads what arrived since the last round and hands every REPLY to `scheduler`. Never throws.
    public func collect(into scheduler: MeetingScheduler) async {
        for _ in 0..<maximumBatches {
            let cursor: (uidValidity: UInt32, lastUID: UInt32)?
            do { cursor = try self.cursor() } catch {
                logger.error("reply mailbox position not readable", metadata: ["error": "\(error)"])
                return
            }
            let batch: Batch
            do {
                batch = try await fetch(cursor?.lastUID ?? 0, cursor?.uidValidity)
            } catch {
                logger.warning("reply mailbox not read; trying again next round", metadata: ["mailbox": "\(name)", "error": "\(error)"])
                return
            }
            if let cursor, cursor.uidValidity != batch.uidValidity {
                logger.notice("reply mailbox was rebuilt (UIDVALIDITY changed); reading it again from the start",
                              metadata: ["mailbox": "\(name)", "was": "\(cursor.uidValidity)", "now": "\(batch.uidValidity)"])
            }
            for message in batch.messages {
                let reply: IMIPReply
                do { reply = try reader(message.bytes) } catch {
                    logger.debug("mail is not a reply", metadata: ["uid": "\(message.uid)", "why": "\(error)"])
                    continue
                }
                let outcome = await scheduler.apply(reply)
                logger.info("reply mail read", metadata: ["uid": "\(message.uid)", "outcome": "\(outcome)"])
            }
            do { try save(uidValidity: batch.uidValidity, lastUID: batch.highestUID) } catch {
                logger.error("reply mailbox position not stored", metadata: ["error": "\(error)"])
                return
            }
            if !batch.more { return }
        }
    }

    func cursor() throws -> (uidValidity: UInt32, lastUID: UInt32)? {
        try store.read { [name] tx in try tx.mailboxCursor(name) }.map { ($0.uidValidity, $0.lastUID) }
    }

    func save(uidValidity: UInt32, lastUID: UInt32) throws {
        let cursor = MailboxCursor(mailbox: name, uidValidity: uidValidity, lastUID: lastUID, updatedAt: Date())
        try store.write { tx in try tx.save(cursor) }
    }
}
