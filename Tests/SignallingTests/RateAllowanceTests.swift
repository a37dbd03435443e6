import Testing
@testable import Signalling

@Suite struct RateAllowanceTests {
    @Test func aBurstThenOneASecondAndNoMoreThanTheBurstAfterAQuietSpell() {
        let start = ContinuousClock.now
        var allowance = RateAllowance(burst: 5, now: start)
        #expect((0..<8).map { _ in allowance.take(now: start) } == [true, true, true, true, true, false, false, false])
        #expect(allowance.take(now: start + .milliseconds(999)) == false)
        #expect(allowance.take(now: start + .seconds(1)) == true)
        #expect(allowance.take(now: start + .milliseconds(1500)) == false)
        #expect(allowance.take(now: start + .seconds(2)) == true, "the half second already waited counts")
        let later = start + .seconds(3600)
        #expect((0..<7).filter { _ in allowance.take(now: later) }.count == 5, "an hour's silence gives back the burst, not more")
    }
}
