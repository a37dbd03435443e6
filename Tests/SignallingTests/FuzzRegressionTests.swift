import Foundation
import SabhaTestSupport
import Testing

/// Inputs a fuzzer once crashed on, kept under `Regressions/<target>/` and replayed through the fuzz target's own
/// harness (`FuzzRegressionInputs`): each must now run clean, properties included.
@Suite struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Regressions")

    @Test(arguments: FuzzRegressionInputs.list(in: directory, open: false))
    func savedCrashInputNowRunsClean(_ input: String) throws {
        let name = FuzzRegressionInputs.target(of: input)
        let target = try #require(SignallingFuzzTarget(rawValue: name), "no fuzz target \(name)")
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(input))
        #expect(throws: Never.self) { try data.withUnsafeBytes { try target.run($0) } }
    }

    @Test func openFindingsNameAFuzzTarget() {
        for input in FuzzRegressionInputs.list(in: Self.directory, open: true) {
            #expect(SignallingFuzzTarget(rawValue: FuzzRegressionInputs.target(of: input)) != nil, "\(input) names no fuzz target")
        }
    }
}
