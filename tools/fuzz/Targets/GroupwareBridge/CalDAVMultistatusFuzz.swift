@testable import GroupwareBridge

/// A WebDAV multistatus body (RFC 4918 section 14.16, RFC 6578 sync-collection) as a CalDAV server
/// answers a REPORT or PROPFIND. It has no writer: parsing must end in a value or a thrown
/// `CalDAVError`, never a trap, for any bytes.
enum CalDAVMultistatusFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let multistatus = try? CalDAVMultistatus(parsing: data) else { return }
        for response in multistatus.responses {
            _ = response.value(.init(namespace: "DAV:", local: "getetag"))
        }
    }
}
