import Foundation
import MicroturnCore
import Synchronization
import Testing
import TestSupport

/// What `top -H` shows for a thread the product starts.
@Suite(.ownThreads) struct NamedThreadTests {
    /// The name the system keeps for a thread started with `name`, read from inside it.
    static func systemName(_ name: String) -> String {
        let seen = Mutex(""), done = DispatchSemaphore(value: 0)
        Thread.start(named: name) {
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            seen.withLock { $0 = comm.trimmingCharacters(in: .newlines) }
            done.signal()
        }
        done.wait()
        return seen.withLock { $0 }
    }

    @Test func aThreadCarriesItsName() {
        #expect(Self.systemName("microturn-audio") == "microturn-audio")
    }

    /// Linux refuses a name over 15 bytes outright (the thread would keep its maker's): it is cut.
    @Test func aLongNameIsCutTo15Bytes() {
        #expect(Self.systemName("microturn-speech-out") == "microturn-speec")
        #expect(Self.systemName("mt-ééééééééé") == "mt-éééééé", "a character is never cut in two")
    }
}
