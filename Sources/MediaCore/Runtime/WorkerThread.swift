import CMediaShims
import Glibc

/// Starts a named POSIX thread running `body`. MediaCore avoids Foundation, so no `Thread`.
enum WorkerThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(MediaError) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box {
            sabha_set_thread_name(name)
            body()
        }).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw MediaError.configuration("cannot start thread \(name): error \(result)")
        }
        pthread_detach(thread)
    }
}
