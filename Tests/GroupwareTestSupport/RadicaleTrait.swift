import Testing

/// Starts one Radicale around a whole suite and stops it afterwards.
public struct RadicaleTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await RadicaleServer()
        defer { server.stop() }
        try await RadicaleServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == RadicaleTrait {
    public static var radicale: Self { RadicaleTrait() }
}
