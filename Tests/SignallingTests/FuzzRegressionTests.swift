import Foundation
import Testing

/// Inputs a fuzzer once crashed on (tools/fuzz, docs/reliability.md), kept under `Regressions/<target>/`
/// and replayed through the fuzz target's own harness: each must now run clean, properties included.
/// A file named `open-*` is a crash found in code this module's owner has not fixed yet; it is listed
/// by `openFindingsNameAFuzzTarget` and replayed only once renamed (a trap would end the whole test run).
@Suite struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Regressions")

    /// "<target>/<file>" for every saved input, sorted.
    static func inputs(open: Bool) -> [String] {
        let manager = FileManager.default
        let targets = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        return targets.sorted().flatMap { target -> [String] in
            let files = (try? manager.contentsOfDirectory(atPath: directory.appendingPathComponent(target).path)) ?? []
            return files.filter { !$0.hasPrefix(".") && $0.hasPrefix("open-") == open }.sorted().map { "\(target)/\($0)" }
        }
    }

    @Test(arguments: inputs(open: false))
    func savedCrashInputNowRunsClean(_ input: String) throws {
        let name = String(input.prefix { $0 != "/" })
        let target = try #require(SignallingFuzzTarget(rawValue: name), "no fuzz target \(name)")
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(input))
        #expect(throws: Never.self) { try data.withUnsafeBytes { try target.run($0) } }
    }

    @Test func openFindingsNameAFuzzTarget() {
        for input in Self.inputs(open: true) {
            let name = String(input.prefix { $0 != "/" })
            #expect(SignallingFuzzTarget(rawValue: name) != nil, "\(input) names no fuzz target")
        }
    }
}
