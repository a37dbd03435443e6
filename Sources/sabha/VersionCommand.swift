import ArgumentParser
import CSabhaBuild

/// `sabha version`: what an operator quotes in a bug report, and what tools/package-deb.sh names the package after.
struct VersionCommand: ParsableCommand {
    /// Raised by hand at each release; the package version is this.
    static let number = "0.18.0"

    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version and the commit it was built from.")

    @Flag(help: "Print the version number alone (for scripts).")
    var number = false

    /// The build's commit, or nil when the build was not given one (SABHA_BUILD_COMMIT).
    static var commit: String? {
        let commit = String(cString: sabha_build_commit())
        return commit.isEmpty ? nil : commit
    }

    func run() {
        if number {
            print(Self.number)
        } else {
            print("sabha \(Self.number) (commit \(Self.commit ?? "unknown: built without SABHA_BUILD_COMMIT"))")
        }
    }
}
