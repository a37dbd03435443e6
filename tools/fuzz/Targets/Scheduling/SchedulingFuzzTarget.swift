/// The Scheduling fuzz targets: what the calendar watcher reads from the resource calendar.
/// `SABHA_FUZZ=<rawValue>` picks one in the fuzzer (tools/fuzz.sh); the regression tests replay the
/// inputs under `Tests/SchedulingTests/Regressions/<rawValue>/` through the same `run`.
enum SchedulingFuzzTarget: String, CaseIterable, Sendable {
    case booking

    func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .booking: try BookingFuzz.run(data)
        }
    }
}
