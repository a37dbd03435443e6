import Glibc

/// The target `SABHA_FUZZ` names (mediasoup's `MS_FUZZ_*` idea, one variable instead of one per area).
let selectedTarget: MediaFuzzTarget = {
    guard let raw = getenv("SABHA_FUZZ"), let target = MediaFuzzTarget(rawValue: String(cString: raw)) else {
        let names = MediaFuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
        let message = "sabha-fuzz-media: set SABHA_FUZZ to one of: \(names)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
    return target
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
