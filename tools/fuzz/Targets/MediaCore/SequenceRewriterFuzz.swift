@testable import MediaCore

/// `SequenceRewriter` driven by a program of sync / map / drop operations on input numbers, in the
/// 16-bit (RTP), 15-bit (PictureID) and 8-bit (TL0PICIDX) spaces. Outputs must stay inside the space,
/// a sync must place its input right after the last output, and the next input after a mapped newest
/// one must get the next output (the viewer must see no gap that is not a loss).
enum SequenceRewriterFuzz {
    static let name = "rewriter"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var reader = FuzzReader(data)
        let bits = [16, 15, 8][Int(reader.u8()) % 3]
        var rewriter = SequenceRewriter(bits: bits)
        /// The newest input mapped and its output, while no sync or drop came after it.
        var lastNewest: (input: UInt16, output: UInt16)?
        var steps = 0
        while !reader.isAtEnd, steps < 4096 {
            steps += 1
            let op = reader.u8()
            let input = reader.u16()
            switch op % 4 {
            case 0:
                let before = rewriter.started ? rewriter.highestOutput : nil
                let initial = reader.u16()
                rewriter.sync(input: input, initial: initial)
                let output = rewriter.map(input)
                let expected = before.map { ($0 &+ 1) & rewriter.mask } ?? initial & rewriter.mask
                try check(output == expected, name, "after sync \(input) maps to \(output), expected \(expected)")
                lastNewest = nil
            case 1:
                guard rewriter.started else { continue }
                let wasNewer = rewriter.isNewer(input & rewriter.mask, than: rewriter.highestInput)
                let output = rewriter.map(input)
                try check(output & ~rewriter.mask == 0, name, "output \(output) outside the \(bits)-bit space")
                if let last = lastNewest, input & rewriter.mask == (last.input &+ 1) & rewriter.mask {
                    try check(output == (last.output &+ 1) & rewriter.mask, name, "input after \(last.input) maps to \(output), not \(last.output &+ 1)")
                }
                lastNewest = wasNewer ? (input & rewriter.mask, output) : lastNewest
            default:
                rewriter.drop(input)
                lastNewest = nil
            }
        }
    }
}
