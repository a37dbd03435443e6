/// Why a composition failed; the text goes into composition.json and the admin API.
public enum CompositionError: Error, Sendable, CustomStringConvertible {
    case noRecording(String)
    case codec(String)
    case io(String)
    case cancelled

    public var description: String {
        switch self {
        case .noRecording(let why): "nothing to compose: \(why)"
        case .codec(let why): "codec: \(why)"
        case .io(let why): why
        case .cancelled: "cancelled"
        }
    }
}
