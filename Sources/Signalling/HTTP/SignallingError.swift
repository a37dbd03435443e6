/// Start-up and configuration failures, printed to the operator.
public enum SignallingError: Error, CustomStringConvertible {
    case configuration(String)
    public var description: String {
        switch self {
        case .configuration(let s): return s
        }
    }
}
