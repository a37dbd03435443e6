/// Runs `body` over 20 000 seeded random byte strings of 0–1500 bytes, then over every truncation of each valid
/// sample and over `mutations` corruptions (1–3 bytes each) of each sample. For parsers that must refuse bad
/// input without trapping; the libFuzzer targets in tools/fuzz go further.
public func fuzz(seed: UInt64, samples: [[UInt8]], mutations: Int = 2000, _ body: (UnsafeRawBufferPointer) -> Void) {
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
