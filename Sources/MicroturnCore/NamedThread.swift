import Foundation

extension Thread {
    /// Starts a thread that runs `body` under `name`, as `top -H` and `ps -L` show it, so that a
    /// technician can tell the audio, speech and engine threads apart. Linux takes at most 15 bytes
    /// and refuses a longer name outright, so a longer one is cut to 15.
    ///
    /// Why not `Thread.name`: given before start() it never reaches the system thread on Linux, and
    /// given from inside before start() has returned it is lost now and then (Foundation does not
    /// know the system thread yet), leaving the name of the thread that made it.
    @discardableResult
    public static func start(named name: String, qualityOfService: QualityOfService? = nil, stackSize: Int? = nil,
                             _ body: @escaping @Sendable () -> Void) -> Thread {
        var kept = name
        while kept.utf8.count > 15 { kept.removeLast() }
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [kept] in
            started.wait()
            Thread.current.name = kept
            body()
        }
        if let qualityOfService { thread.qualityOfService = qualityOfService }
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
        started.signal()
        return thread
    }
}
