/// One calendar object resource as read from the server (RFC 4791 section 4.1).
public struct CalDAVResource: Sendable, Equatable {
    /// The path as the server names it (percent-encoding untouched), e.g. `/alice/calendar/m-abc.ics`.
    public var href: String
    /// Exactly as the server sent it, quotes included; send it back unchanged in If-Match.
    public var etag: String?
    /// The iCalendar text.
    public var body: String

    public init(href: String, etag: String?, body: String) {
        self.href = href
        self.etag = etag
        self.body = body
    }
}
