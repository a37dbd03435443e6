import Synchronization

/// Open /ws connections per client address, so one address cannot hold more than its share of sockets.
final class WebSocketConnections: Sendable {
    private struct State {
        var byAddress: [String: Int] = [:]
        var total = 0
    }

    let perAddress: Int
    private let state = Mutex(State())

    init(perAddress: Int) {
        self.perAddress = perAddress
    }

    /// Takes a place for a connection from `address`; false when that address already holds `perAddress`.
    func open(_ address: String) -> Bool {
        state.withLock { state in
            guard state.byAddress[address, default: 0] < perAddress else { return false }
            state.byAddress[address, default: 0] += 1
            state.total += 1
            return true
        }
    }

    /// Gives back the place `open` took.
    func close(_ address: String) {
        state.withLock { state in
            guard let count = state.byAddress[address] else { return }
            state.byAddress[address] = count > 1 ? count - 1 : nil
            state.total -= 1
        }
    }

    /// Connections open now (the `sabha_websocket_connections` gauge).
    var total: Int { state.withLock { $0.total } }

    func count(_ address: String) -> Int { state.withLock { $0.byAddress[address] ?? 0 } }
}
