import Foundation
import Recording
import Logging

/// Chat (docs/protocol.md, "Chat"): every message is stored with its room before anyone sees it, so what people
/// saw is what a host or an administrator exports, and a joiner gets the last `RoomControls.chatHistory`.
extension MeetingHub {
    /// A participant's chat message: checked, rate limited, stored, then sent to everyone in the room (the sender
    /// too, with its id). Returns the error for the sender when it is refused.
    func chat(_ id: String, text: String) -> String? {
        if waitingByID[id] != nil { return Self.notAdmitted }
        guard let participant = byID[id] else { return nil }
        let cleaned = Self.chatText(text)
        guard !cleaned.isEmpty else { return MeetingWire.error("chat-empty", "A chat message needs some text.", fatal: false) }
        guard cleaned.count <= RoomControls.maximumChatLength else {
            return MeetingWire.error("chat-too-long", "A chat message may have at most \(RoomControls.maximumChatLength) characters.", fatal: false)
        }
        guard participant.chatAllowance.take() else {
            return MeetingWire.error("chat-rate-limited", "You are sending messages too fast; wait a moment.", fatal: false)
        }
        var message = ChatMessage(room: participant.room, at: Date(), participant: participant.id, identity: participant.identity,
                                  name: participant.name, text: cleaned)
        if let store {
            do { message = try store.appendChat(message) } catch {
                logger.error("chat message not stored", metadata: ["room": "\(participant.room)", "error": "\(error)"])
                return MeetingWire.error("chat-failed", "The server could not keep your message; it was not sent. Try again.", fatal: false)
            }
        }
        let wire = MeetingWire.encode("chat", Self.chatFields(message))
        for other in rooms[participant.room] ?? [] { other.send(wire) }
        noteForRecording(participant.room, TimelineEvent(type: .chat, participant: participant.id, identity: participant.identity,
                                                         name: participant.name, text: cleaned))
        return nil
    }

    /// What a chat message keeps of what was typed: control characters other than line breaks and tabs are dropped,
    /// space around it trimmed; the rest stays as typed (it is text: clients never parse it).
    static func chatText(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter {
            $0 == "\n" || $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F && !(0x80..<0xA0).contains($0.value))
        })).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func chatInfo(_ message: ChatMessage) -> MeetingWire.ChatInfo {
        MeetingWire.ChatInfo(id: message.id ?? 0, from: message.participant, identity: message.identity, name: message.name,
                             text: message.text, at: MeetingWire.timestamp(message.at))
    }

    private static func chatFields(_ message: ChatMessage) -> [String: any Encodable & Sendable] {
        let info = chatInfo(message)
        return ["id": info.id, "from": info.from, "identity": info.identity, "name": info.name, "text": info.text, "at": info.at]
    }

    /// The room's last messages for a joiner, oldest first (none when the store cannot say, logged).
    func chatHistory(_ room: String) -> [MeetingWire.ChatInfo] {
        guard let store else { return [] }
        do { return try store.chat(room: room, limit: RoomControls.chatHistory).map(Self.chatInfo) } catch {
            logger.error("chat history not readable", metadata: ["room": "\(room)", "error": "\(error)"])
            return []
        }
    }
}
