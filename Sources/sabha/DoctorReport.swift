import Foundation

/// What `sabha doctor` found, one line per check, in the words an operator acts on.
struct DoctorReport {
    enum Verdict: String { case ok = "ok  ", warn = "WARN", fail = "FAIL", skip = "skip" }

    private(set) var lines: [(verdict: Verdict, check: String, detail: String)] = []

    mutating func add(_ verdict: Verdict, _ check: String, _ detail: String) {
        lines.append((verdict, check, detail))
        print("\(verdict.rawValue)  \(check): \(detail)")
    }

    mutating func ok(_ check: String, _ detail: String) { add(.ok, check, detail) }
    mutating func warn(_ check: String, _ detail: String) { add(.warn, check, detail) }
    mutating func fail(_ check: String, _ detail: String) { add(.fail, check, detail) }
    mutating func skip(_ check: String, _ detail: String) { add(.skip, check, detail) }

    var failures: Int { lines.count { $0.verdict == .fail } }
    var warnings: Int { lines.count { $0.verdict == .warn } }

    /// The closing line.
    var summary: String {
        switch (failures, warnings) {
        case (0, 0): "All checks passed."
        case (0, let w): "No failures; \(w) warning\(w == 1 ? "" : "s") to read."
        case (let f, let w): "\(f) check\(f == 1 ? "" : "s") failed\(w > 0 ? " and \(w) warned" : ""): fix the FAIL lines before serving."
        }
    }
}
