import Foundation

/// A progress bar on standard error: redrawn in place on a terminal, a line every 10 % otherwise.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let terminal = isatty(STDERR_FILENO) != 0
    private var lastTenth = -1

    init(label: String) { self.label = label }

    func show(_ progress: Double) {
        let fraction = min(max(progress, 0), 1)
        if terminal {
            let filled = Int(fraction * 30)
            FileHandle.standardError.write(Data(String(format: "\r%@ [%@%@] %3.0f %%", label, String(repeating: "#", count: filled),
                                                       String(repeating: "-", count: 30 - filled), fraction * 100).utf8))
        } else if Int(fraction * 10) != lastTenth {
            lastTenth = Int(fraction * 10)
            FileHandle.standardError.write(Data(String(format: "%@: %.0f %%\n", label, fraction * 100).utf8))
        }
    }

    func done() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
