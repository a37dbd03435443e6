/// A property a fuzz target checks did not hold: an input parsed but did not write back, or
/// wrote back into something that parses differently. Thrown, not trapped, so the regression
/// tests can report it; the fuzzer's entry point turns it into a crash that libFuzzer records.
struct FuzzFailure: Error, CustomStringConvertible {
    let target: String
    let message: String

    init(_ target: String, _ message: String) {
        self.target = target
        self.message = message
    }

    var description: String { "fuzz target \(target): \(message)" }
}
