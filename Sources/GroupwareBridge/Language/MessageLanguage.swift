import Foundation

/// The languages invitations are written in: English, Hindi and Odia, the languages of the state's officers. Each
/// attendee gets their mail and their calendar copy in their own; the organizer's copy is in the server's default.
public enum MessageLanguage: String, Sendable, Hashable, Codable, CaseIterable {
    case english = "en"
    case hindi = "hi"
    case odia = "or"

    /// Dates and numbers are written for this locale (India's conventions in each language).
    public var locale: Locale {
        switch self {
        case .english: Locale(identifier: "en_IN")
        case .hindi: Locale(identifier: "hi_IN")
        case .odia: Locale(identifier: "or_IN")
        }
    }

    /// The language's table of phrases.
    var strings: MessageStrings {
        switch self {
        case .english: .english
        case .hindi: .hindi
        case .odia: .odia
        }
    }

    /// A language from its code ("hi", "or", "en", also "hi-IN" or "or_IN"); nil for any other.
    public init?(code: String) {
        let base = code.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map(String.init) ?? ""
        self.init(rawValue: base == "od" ? "or" : base)
    }
}
