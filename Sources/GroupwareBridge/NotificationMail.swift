import Foundation

/// A plain mail from the server to one person, with attachments: the attendance report to the organizer. The same
/// shape rules as `IMIPMessage`: every body base64 in 76-character lines, non-ASCII headers as RFC 2047 words, and a
/// Message-ID given by the caller from what the mail is about, so a resend is recognisably the same mail.
public struct NotificationMail: Sendable {
    public struct Attachment: Sendable {
        public var filename: String
        /// "text/csv; charset=UTF-8".
        public var contentType: String
        public var body: [UInt8]

        public init(filename: String, contentType: String, body: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.body = body
        }
    }

    public let messageID: String
    /// The complete message, CRLF line ends.
    public let bytes: [UInt8]

    /// `key` names what the mail is about (meeting UID and purpose); the Message-ID is made from it and the
    /// recipient, at `domain` (the sender's).
    public init(from sender: CalendarUser, to recipient: CalendarUser, subject: String, text: String, language: MessageLanguage,
                attachments: [Attachment], date: Date, key: String) {
        var generator = BoundaryGenerator()
        let mixed = "=_sabha_" + String(generator.next() as UInt64, radix: 16)
        messageID = Self.messageID(key: key, recipient: recipient.email, domain: String(sender.email.domain))
        var m = ""
        m += IMIPMessage.header("From", IMIPMessage.address(sender.name, sender.email))
        m += IMIPMessage.header("To", IMIPMessage.address(recipient.name, recipient.email))
        m += IMIPMessage.header("Subject", IMIPMessage.encodedText(subject))
        m += IMIPMessage.header("Date", IMIPMessage.rfc5322Date(date))
        m += IMIPMessage.header("Message-ID", messageID)
        m += IMIPMessage.header("MIME-Version", "1.0")
        m += IMIPMessage.header("Content-Language", language.rawValue)
        // Mail systems that answer automatically (out-of-office) should not answer the server (RFC 3834).
        m += IMIPMessage.header("Auto-Submitted", "auto-generated")
        m += IMIPMessage.header("Content-Type", "multipart/mixed;\r\n boundary=\"\(mixed)\"")
        m += "\r\n"
        m += "--\(mixed)\r\n"
        let plain = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        m += IMIPMessage.part("text/plain; charset=UTF-8", Array((plain.hasSuffix("\r\n") ? plain : plain + "\r\n").utf8))
        for attachment in attachments {
            let name = attachment.filename.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
            m += "--\(mixed)\r\n"
            m += IMIPMessage.part("\(attachment.contentType); name=\"\(name)\"", attachment.body,
                                  extra: "Content-Disposition: attachment; filename=\"\(name)\"\r\n")
        }
        m += "--\(mixed)--\r\n"
        bytes = Array(m.utf8)
    }

    /// `<hex.notice@domain>` from the key and the recipient (two FNV-1a 64 hashes, as the invitations').
    static func messageID(key: String, recipient: EmailAddress, domain: String) -> String {
        let bytes = Array("\(key)\u{0}\(recipient.value.lowercased())".utf8)
        func fnv(_ basis: UInt64) -> String {
            var hash = basis
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            let text = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }
        return "<" + fnv(0xCBF2_9CE4_8422_2325) + fnv(0x84222325_CBF29CE4) + ".notice@" + domain.lowercased() + ">"
    }
}
