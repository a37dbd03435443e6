/// The iTIP method of a scheduling message (RFC 5546 section 1.4) that Sabha sends: invitations
/// and updates are REQUEST, withdrawals are CANCEL. Goes into METHOD and the MIME `method=`.
public enum ITIPMethod: String, Hashable, Sendable {
    case request = "REQUEST"
    case cancel = "CANCEL"
}
