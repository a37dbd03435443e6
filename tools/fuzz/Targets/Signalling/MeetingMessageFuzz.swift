import Foundation
@testable import Signalling

/// The meeting protocol's client messages (docs/protocol.md), decoded as `MeetingSocket` does; an
/// offer goes on to the SDP reader with the meeting intent, as `MeetingHub` does. Text a client sends
/// that we echo to others (names, reasons) must come out of our encoder as JSON that reads back equal.
enum MeetingMessageFuzz {
    static let name = "meeting"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard data.count <= MeetingWire.maximumMessageSize else { return }
        let text = String(decoding: data, as: UTF8.self)
        guard let message = try? MeetingWire.Inbound.decode(text) else { return }
        switch message {
        case .join(_, _, let displayName, _, _):
            if let displayName { try echo(displayName) }
        case .offer(let sdp, _):
            _ = try? SDPOffer(parsing: sdp, intent: .meeting)
        case .remove(let participant), .muteParticipant(let participant, _):
            try echo(participant)
        case .videoSize(let track, _, _):
            try echo(track)
        case .chat(let text):
            let kept = MeetingHub.chatText(text)
            try check(!kept.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F..<0xA0).contains($0.value) },
                      name, "a control character survived in a chat message")
            try check(MeetingHub.chatText(kept) == kept, name, "cleaning a cleaned chat message changed it")
            try echo(kept)
        case .admit(let participant), .deny(let participant), .makeHost(let participant), .lowerHand(.some(let participant)):
            try echo(participant)
        default:
            break
        }
    }

    /// Encodes `value` the way server events carry client text and reads it back.
    private static func echo(_ value: String) throws(FuzzFailure) {
        let encoded = MeetingWire.error("fuzz", value, fatal: false)
        guard let object = try? JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any],
              let message = object["message"] as? String else {
            throw FuzzFailure(name, "our encoder wrote JSON that does not read back: \(encoded)")
        }
        try check(message == value, name, "text changed through the encoder")
    }
}
