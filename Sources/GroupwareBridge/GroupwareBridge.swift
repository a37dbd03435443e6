// GroupwareBridge: iCalendar, iMIP over SMTP and CalDAV (issue 6). For now only the module's identity.

/// Version of the bridge's wire formats (iCalendar PRODID).
public enum GroupwareBridge {
    public static let productID = "-//Sabha//Sabha Video Conferencing//EN"
}
