import MicroturnCore
import Testing
import TestSupport

@Suite(.ownThreads) struct EventTests {
    @Test func jsonLineHasTimeTypeAndOptionalFields() {
        #expect(Event(time: 1.23456, kind: .turnEnd).jsonLine == #"{"time":1.235,"type":"turn_end"}"#)
        let e = Event(time: 2, kind: .replyStart, text: "say \"hi\"\n", latency: 0.2, detail: "d")
        #expect(e.jsonLine == #"{"time":2.0,"type":"reply_start","text":"say \"hi\"\n","latency_s":0.2,"detail":"d"}"#)
    }
}
