// Helpers shared by the wire-format tests.

/// Bytes from a hex string; spaces and newlines are ignored.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// A small deterministic generator (SplitMix64) so fuzz loops are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

/// Runs `body` over 20 000 seeded random byte strings of 0–1500 bytes, then over every
/// truncation of each valid sample and over `mutations` single-byte corruptions of each sample.
func fuzz(seed: UInt64, samples: [[UInt8]], mutations: Int = 2000, _ body: (UnsafeRawBufferPointer) -> Void) {
    var rng = SplitMix64(seed: seed)
    for _ in 0..<20_000 {
        let count = Int(rng.next() % 1501)
        let bytes = rng.bytes(count: count)
        bytes.withUnsafeBytes(body)
    }
    for sample in samples {
        for length in 0...sample.count {
            Array(sample[0..<length]).withUnsafeBytes(body)
        }
        guard !sample.isEmpty else { continue }
        for _ in 0..<mutations {
            var corrupted = sample
            let flips = 1 + Int(rng.next() % 3)
            for _ in 0..<flips {
                corrupted[Int(rng.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            corrupted.withUnsafeBytes(body)
        }
    }
}
