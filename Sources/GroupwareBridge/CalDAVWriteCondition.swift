/// The precondition of a PUT (RFC 9110 section 13.1), so two writers cannot silently overwrite each other.
public enum CalDAVWriteCondition: Sendable, Hashable {
    /// Only if nothing exists at the href yet (`If-None-Match: *`).
    case create
    /// Only if the resource still has this ETag (`If-Match`, sent exactly as given).
    case replace(etag: String)
    /// Unconditionally.
    case any
}
