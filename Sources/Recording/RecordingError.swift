/// Why a recording could not be written.
public enum RecordingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The disk is full: the recording stops cleanly and the host is told.
    case diskFull(String)
    case io(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .diskFull(let path): "the disk is full (writing \(path))"
        case .io(let why): why
        case .invalidArgument(let why): why
        }
    }
}
