import Foundation
import Logging
import MicroturnAudio
import MicroturnCore
import MicroturnLink

/// The server's worker for a task: what the user said (its own transcript of the speech, else the
/// device's), then the reasoner's answer with the device's recent exchanges, which it then
/// remembers. PROGRESS tells the device each stage; the task's log line lists the tools called
/// (arguments, results, time) and every backend failure.
public final class ReasoningWorker: Sendable {
    public let transcriber: TranscribingWorker
    /// An OpenAI-compatible transcription service tried first (nil: PocketSphinx only); when it
    /// fails, PocketSphinx transcribes and the failure is logged and counted.
    public let remoteTranscriber: OpenAIAudio?
    public let reasoner: Reasoner
    public let memory: ConversationMemory
    /// Speaks the answer for devices that ask for the server's speech (nil: none do here).
    public let speech: SpeechStage?
    let metrics: ServerMetrics?
    let log: Logger

    public static let notHeard = "Sorry, I didn't catch that. Could you say it again?"
    public static let noAnswer = "I don't have an answer to that."

    public init(transcriber: TranscribingWorker, remoteTranscriber: OpenAIAudio? = nil, reasoner: Reasoner, memory: ConversationMemory,
                speech: SpeechStage? = nil, metrics: ServerMetrics? = nil, log: Logger = Logger(label: "microturn-server")) {
        self.transcriber = transcriber
        self.remoteTranscriber = remoteTranscriber
        self.reasoner = reasoner
        self.memory = memory
        self.speech = speech
        self.metrics = metrics
        self.log = log
    }

    /// A device's EVENT: an answer cut by the user is remembered as far as it was heard.
    public func observe(_ device: DeviceContact, _ event: Microturn_Link_V1_Event) {
        guard event.kind == .playback, event.cut else { return }
        memory.interrupted(device: device.id, heard: event.text)
    }

    /// What was said: by the remote service when there is one and it answers, else by PocketSphinx
    /// (with the remote's failure, for the log).
    func transcribe(_ opus: [Data]) -> (text: String, remoteFailure: BackendFailure?) {
        guard !opus.isEmpty, let pcm = try? TranscribingWorker.decode(opus) else { return ("", nil) }
        var failure: BackendFailure?
        if let remoteTranscriber {
            do { return (try remoteTranscriber.transcribe(pcm), nil) } catch { failure = error }
        }
        return ((try? transcriber.transcribe(pcm: pcm)) ?? "", failure)
    }

    public func answer(_ job: ServerSessions.Job, _ report: TaskReport) -> Microturn_Link_V1_Result {
        var result = Microturn_Link_V1_Result()
        result.taskID = job.task.taskID
        result.final = true
        let started = ContinuousClock.now
        // A segment of live translation: translated, spoken in its language's voice, not remembered.
        let translateTo = job.task.context[LinkTaskContext.translate]
        let language = translateTo.flatMap(TranslationLanguage.code)
        if let translateTo, language == nil {
            result.text = "I can't translate into \(translateTo)."
            return result
        }
        report.progress("transcribing")
        var (heard, transcriptionFailure) = transcribe(job.opus)
        if heard.isEmpty { heard = job.task.transcript }
        let transcribed = ContinuousClock.now
        guard !heard.isEmpty else {
            // Nothing to translate: an empty final closes the segment without a word.
            if language == nil { result.text = Self.notHeard }
            return result
        }
        report.progress("reasoning")
        let voice = job.capabilities.contains(SpeechStage.capability) ? speech : nil
        var spoken = 0, sentences = 0, said = "", speechFailure: AudioError?, firstSentence: ContinuousClock.Instant?
        /// The sentence's speech sent ahead of it (when the device asked for it): its stream.
        func speak(_ text: String, as stream: String) -> String {
            guard let voice, speechFailure == nil else { return "" }
            if spoken == 0 { report.progress("speaking") }
            do { spoken += try voice.speak(text, streamID: stream, voice: language?.voice, send: report.send) } catch {
                speechFailure = error  // the device says the text itself
                return ""
            }
            return stream
        }
        let outcome = reasoner.answer(heard, history: language == nil ? memory.history(device: job.deviceId) : [],
                                      device: language == nil ? report.device : nil,
                                      instructions: language.map { Reasoner.translation(into: $0.name) },
                                      cancellation: report.cancellation) { sentence in
            guard !report.cancellation.isCancelled else { return }
            if firstSentence == nil { firstSentence = ContinuousClock.now }
            report.part(sentence, number: sentences, audio: speak(sentence, as: "\(job.task.taskID)/\(sentences)"))
            sentences += 1
            said += (said.isEmpty ? "" : " ") + sentence
        }
        // Each stage's time, for the log (and `microturn bench background`): transcription, then
        // reasoning to its first sentence and to its end.
        func since(_ a: ContinuousClock.Instant, _ b: ContinuousClock.Instant?) -> Logger.MetadataValue {
            b.map { .string(String(format: "%.3f", ($0 - a).seconds)) } ?? "-"
        }
        var fields: Logger.Metadata = ["device": "\(job.deviceId)", "task": "\(job.task.taskID)", "heard": "\(heard)", "backend": "\(outcome.backend)",
                                       "job": "\(language.map { "translate to \($0.name)" } ?? "answer")",
                                       "transcribe_s": since(started, transcribed), "first_sentence_s": since(transcribed, firstSentence),
                                       "reason_s": since(transcribed, ContinuousClock.now)]
        if !outcome.tools.isEmpty {
            fields["tools"] = .array(outcome.tools.map { "\($0.name)(\($0.arguments)) -> \($0.result) [\(String(format: "%.3f", $0.seconds)) s]" })
        }
        if !outcome.failures.isEmpty { fields["failures"] = .array(outcome.failures.map { "\($0)" }) }
        if let speechFailure { fields["speech"] = "\(speechFailure)" }
        if let transcriptionFailure {
            fields["transcription_failure"] = "\(transcriptionFailure)"
            metrics?.backendFailure(transcriptionFailure)
        }
        for failure in outcome.failures { metrics?.backendFailure(failure) }
        for tool in outcome.tools { metrics?.toolCall(tool.name, failed: tool.failed) }
        if outcome.cancelled {
            // The device no longer wants the answer; an empty one closes its request.
            log.info("task cancelled by the device", metadata: fields)
            return result
        }
        if outcome.unanswered {
            metrics?.unanswered()
            log.error("no reasoning backend answered; the device gets the short answer", metadata: fields)
        } else {
            log.info("task reasoned", metadata: fields)
        }
        // The final RESULT holds the whole answer (after the parts sent, `part` of them): a device
        // that missed the parts (it restarted) says all of it, one that has them says the rest.
        result.part = UInt32(clamping: sentences)
        result.text = outcome.text.isEmpty ? Self.noAnswer : outcome.text
        // The speech of what the parts did not say (all of it when there were none).
        let rest = result.text.hasPrefix(said) ? result.text.dropFirst(said.count).trimmingCharacters(in: .whitespaces) : result.text
        if !rest.isEmpty { result.audioStreamID = speak(rest, as: "\(job.task.taskID)/final") }
        if !outcome.unanswered && language == nil { memory.remember(device: job.deviceId, question: heard, answer: result.text) }
        return result
    }
}
