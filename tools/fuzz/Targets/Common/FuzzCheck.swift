/// `check(condition, target, message)`: throws a `FuzzFailure` when a property does not hold.
@inline(__always)
func check(_ condition: Bool, _ target: String, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(target, message()) }
}
