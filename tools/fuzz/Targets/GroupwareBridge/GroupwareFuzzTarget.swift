/// The GroupwareBridge fuzz targets: what a calendar or mail server hands us.
/// `SABHA_FUZZ=<rawValue>` picks one in the fuzzer (tools/fuzz.sh); the regression tests replay the
/// inputs under `Tests/GroupwareBridgeTests/Regressions/<rawValue>/` through the same `run`.
enum GroupwareFuzzTarget: String, CaseIterable, Sendable {
    case ical, caldav, imip, imap

    func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .ical: try ICalendarFuzz.run(data)
        case .caldav: CalDAVMultistatusFuzz.run(data)
        case .imip: try IMIPReplyFuzz.run(data)
        case .imap: try IMAPResponseFuzz.run(data)
        }
    }
}
