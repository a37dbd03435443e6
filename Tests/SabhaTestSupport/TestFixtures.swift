import Foundation

/// Where the fixtures of `Tests/Fixtures` (real browser SDP, a packet capture, iCalendar, SMTP and CalDAV
/// helpers; each folder's README says where they came from) and the repository are on disk.
public enum TestFixtures {
    /// The repository's root.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `Tests/Fixtures`.
    public static let directory = repository.appendingPathComponent("Tests/Fixtures")

    /// A fixture's URL, e.g. `url("sdp/chromium156-simulcast-offer.sdp")`.
    public static func url(_ path: String) -> URL { directory.appendingPathComponent(path) }

    /// A fixture's bytes.
    public static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(path))) }
}
