import Testing
@testable import MediaCore
import SabhaTestSupport

/// The open-addressing table behind `SRTPContext`: lookups stay right through any mix of inserts, removals
/// (backward shift) and growth.
@Suite struct SRTPStreamTableTests {
    @Test func randomInsertsRemovalsAndGrowthAgreeWithADictionary() {
        var random = SplitMix64(seed: 0x5EED_5EED)
        let table = SRTPStreamTable(capacity: 32)
        var model: [UInt32: Bool] = [:]  // ssrc -> registered
        // Few distinct SSRCs, many of them sharing home slots, so probe runs are long and removals shift.
        let universe = (0..<UInt32(300)).map { $0 &* 0x10000 }
        for step in 0..<20_000 {
            let ssrc = universe[Int(random.next() % UInt64(universe.count))]
            switch random.next() % 4 {
            case 0:
                if model.count < 200 {
                    #expect(table.register(ssrc))
                    model[ssrc] = true
                }
            case 1:
                if model[ssrc] == nil, table.count < table.capacity, let slot = table.insert(ssrc) {
                    table.touch(slot)
                    model[ssrc] = false
                }
            case 2:
                table.remove(ssrc)
                model[ssrc] = nil
            default:
                if step % 500 == 0 { table.reserve(Int(random.next() % 400)) }
            }
            #expect(table.count == model.count)
        }
        for ssrc in universe {
            #expect((table.find(ssrc) != nil) == (model[ssrc] != nil), "ssrc \(ssrc)")
            #expect(table.isRegistered(ssrc) == (model[ssrc] == true))
        }
    }

    @Test func aFullTableOfRegisteredStreamsClaimsNothingNew() {
        let table = SRTPStreamTable(capacity: 32)
        for ssrc in 1...UInt32(SRTPStreamTable.maxStreams) { #expect(table.register(ssrc)) }
        #expect(!table.register(0xFFFF_FFFF))
        #expect(table.insert(0xFFFF_FFFF) == nil)
        let vacancy = table.vacancy(for: 0xFFFF_FFFF)
        #expect(table.claim(vacancy, 0xFFFF_FFFF) == nil)
        #expect(table.count == SRTPStreamTable.maxStreams)
    }
}
