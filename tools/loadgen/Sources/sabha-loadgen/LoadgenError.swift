/// Why the generator could not do what it was asked. Printed to standard error; never a crash.
enum LoadgenError: Error, CustomStringConvertible {
    case configuration(String)
    case signalling(String)
    case media(String)
    case socket(String)
    /// Not an error: `--encode-only` stops after the clips.
    case encodeOnly

    var description: String {
        switch self {
        case .configuration(let text): "configuration: \(text)"
        case .signalling(let text): "signalling: \(text)"
        case .media(let text): "media: \(text)"
        case .socket(let text): "socket: \(text)"
        case .encodeOnly: "only encoding was asked for"
        }
    }
}
