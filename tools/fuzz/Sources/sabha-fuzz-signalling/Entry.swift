import Glibc

/// One target of either module, as `SABHA_FUZZ` names it.
enum SelectedTarget: Sendable {
    case signalling(SignallingFuzzTarget)
    case groupware(GroupwareFuzzTarget)
    case scheduling(SchedulingFuzzTarget)

    func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .signalling(let target): try target.run(data)
        case .groupware(let target): try target.run(data)
        case .scheduling(let target): try target.run(data)
        }
    }
}

let selectedTarget: SelectedTarget = {
    let name = getenv("SABHA_FUZZ").map { String(cString: $0) } ?? ""
    if let target = SignallingFuzzTarget(rawValue: name) { return .signalling(target) }
    if let target = GroupwareFuzzTarget(rawValue: name) { return .groupware(target) }
    if let target = SchedulingFuzzTarget(rawValue: name) { return .scheduling(target) }
    let names = (SignallingFuzzTarget.allCases.map(\.rawValue) + GroupwareFuzzTarget.allCases.map(\.rawValue)
                 + SchedulingFuzzTarget.allCases.map(\.rawValue)).joined(separator: " ")
    let message = "sabha-fuzz-signalling: set SABHA_FUZZ to one of: \(names)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(2)
}()

/// libFuzzer's entry point: one input, one run of the selected target. A property that does not hold
/// traps, so libFuzzer saves the input as a crash like any other.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        try selectedTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError(error.description)
    }
    return 0
}
