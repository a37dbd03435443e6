@testable import GroupwareBridge

/// A mail from the reply mailbox: read as MIME (every leaf decoded as text) and as an iMIP REPLY. Any bytes end in
/// a value or a thrown error; a reply that parses has a From address, a UID and at least one answer.
enum IMIPReplyFuzz {
    static let name = "imip"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let bytes = Array(data)
        if let entity = try? MIMEEntity(parsing: bytes) {
            for leaf in entity.leaves { _ = try? leaf.text() }
        }
        if let reply = try? IMIPReply(mail: bytes) {
            try check(!reply.uid.isEmpty, name, "a reply without a UID")
            try check(!reply.answers.isEmpty, name, "a reply without answers")
        }
    }
}
