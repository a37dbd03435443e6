/// A person with a display name and an address: the ORGANIZER (RFC 5545 section 3.8.4.3) and
/// the mail sender. The name goes into CN and into the mail's From header.
public struct CalendarUser: Hashable, Sendable {
    public var name: String
    public var email: EmailAddress

    public init(name: String, email: EmailAddress) {
        self.name = name
        self.email = email
    }
}
