/// The Signalling fuzz targets: what a browser or a WHIP/WHEP client sends us as text.
/// `SABHA_FUZZ=<rawValue>` picks one in the fuzzer (tools/fuzz.sh); the regression tests replay the
/// inputs under `Tests/SignallingTests/Regressions/<rawValue>/` through the same `run`.
enum SignallingFuzzTarget: String, CaseIterable, Sendable {
    case sdp, meeting

    func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .sdp: try SDPFuzz.run(data)
        case .meeting: try MeetingMessageFuzz.run(data)
        }
    }
}
