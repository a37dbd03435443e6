import Foundation

/// Inputs a fuzzer once crashed on (tools/fuzz, docs/reliability.md), kept under a test target's
/// `Regressions/<target>/` and replayed through the fuzz target's own harness by its `FuzzRegressionTests`.
/// A file named `open-*` is a crash in code its owner has not fixed yet: listed, not replayed (a trap would end
/// the whole test run) until it is renamed.
public enum FuzzRegressionInputs {
    /// "<target>/<file>" for every saved input under `directory` (open ones or the others), sorted.
    public static func list(in directory: URL, open: Bool) -> [String] {
        let manager = FileManager.default
        let targets = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        return targets.sorted().flatMap { target -> [String] in
            let files = (try? manager.contentsOfDirectory(atPath: directory.appendingPathComponent(target).path)) ?? []
            return files.filter { !$0.hasPrefix(".") && $0.hasPrefix("open-") == open }.sorted().map { "\(target)/\($0)" }
        }
    }

    /// The target name of an input ("<target>/<file>").
    public static func target(of input: String) -> String { String(input.prefix { $0 != "/" }) }
}
