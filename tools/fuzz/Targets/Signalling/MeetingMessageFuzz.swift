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
