/// What changed in a collection since a sync token (RFC 6578 section 3.5): keep `token` for the next
/// call, fetch the bodies of `changed` (calendar-multiget) and forget `removed`.
public struct CalDAVSyncResult: Sendable, Equatable {
    /// The token to pass to the next `syncCollection(since:)`.
    public var token: String
    /// Added or modified members: href (server form) → ETag (exactly as sent).
    public var changed: [String: String]
    /// Hrefs of members that no longer exist.
    public var removed: [String]

    public init(token: String, changed: [String: String], removed: [String]) {
        self.token = token
        self.changed = changed
        self.removed = removed
    }
}
