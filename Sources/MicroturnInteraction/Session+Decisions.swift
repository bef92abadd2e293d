import Foundation
import MicroturnAudio
import MicroturnCore

/// What the session does with the scheduler's decisions: urgent ones (a barge-in, the end of the
/// user's turn, on any frame) and the queue's (a count or a murmur, at a micro-turn boundary).
extension Session {
    func act(on decision: TurnDecision, now: Int) {
        switch decision {
        case let .bargeIn(speechStart):
            guard floor.replying else { return }
            interrupted = true
            pendingBargeIn = speechStart
            let b = options.config.bargeIn
            if b.stopAfterMs == 0 || b.duckDb == 0 { yieldFloor(at: now) } else { speechOut.duck(db: Double(b.duckDb)) }
            emit(Event(time: seconds(now), kind: .bargeIn, detail: "user speech began at \(Event.format(seconds(speechStart))) s"
                       + (speechOut.ducked ? "; ducked \(b.duckDb) dB" : "")))
        case .duckForFaintSpeech:
            let db = options.config.bargeIn.duckDb
            if floor.replying && !speechOut.ducked && db > 0 { speechOut.duck(db: Double(db)) }
        case .restoreLevel:
            if speakingUnderUser {
                speechOut.duck(db: 0)
                emit(Event(time: seconds(now), kind: .resume, detail: "no barge-in after faint speech, back to full level"))
            }
        case .yieldFloor:
            if speakingUnderUser { yieldFloor(at: now) }
        case .yieldToContinuation:
            guard speakingUnderUser else { return }
            yieldFloor(at: now)
            // What it was saying answered half a turn: it is not gone on with.
            floor.cutShort = []
            continuing = true
        case let .turnEnd(speechEnd, speechStart):
            endTurn(speechEnd: speechEnd, speechStart: speechStart, now: now)
        case .notATurn:
            _ = userSpeech.finish()
            silence = nil
            local?.turnEnded()
        case let .start(u):
            switch u.kind {
            case .murmur:
                floor.take(.murmur)
                murmurs.started()
                emit(Event(time: seconds(now), kind: .backchannel, text: u.text))
            case .count:
                floor.take(.count)
                emit(Event(time: seconds(now), kind: .count, text: u.text))
            case .progress, .interjection:
                floor.take(.reply)
                playingAnswer = nil
                emit(Event(time: seconds(now), kind: u.kind == .progress ? .progress : .interjection, text: u.text))
            case .translation:
                floor.take(u.condition == .any ? .underUser : .reply)
                playingAnswer = nil
                emit(Event(time: seconds(now), kind: .translation, text: u.text, detail: Self.origin(of: u)))
            case .answer:
                floor.take(.reply)  // an answer is cut by a barge-in like any reply
                lastReply = u.text
                playingAnswer = u
                emit(Event(time: seconds(now), kind: .answer, text: u.text, detail: Self.origin(of: u)))
            }
            if let audio = u.audio {
                speechOut.say(recorded: audio, gainDb: u.gainDb)
            } else {
                do { try speechOut.say(u.text, voice: u.voice, gainDb: u.gainDb) } catch {
                    floor.release()
                    emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
                }
            }
        case let .drop(u, reason):
            // A murmur whose moment passed goes unsaid without a word; a count is on record.
            if u.kind == .count { emit(SpokenCounts.skipped(u, at: now, reason: reason)) }
        }
    }

    /// An answer's or translation's task, and whose voice says it.
    static func origin(of u: Utterance) -> String? {
        guard let task = u.taskId else { return u.kind == .answer ? "the device's own model, offline" : nil }
        return "task \(task)" + (u.audio != nil ? ", the server's speech" : "")
    }

    /// The reply plays ducked under a user who started to talk over it.
    var speakingUnderUser: Bool { floor.replying && speechOut.ducked }

    /// Stops the reply for the user, keeping what it did not say (to go on with after a
    /// backchannel, or for "resume").
    func yieldFloor(at now: Int) {
        floor.cutShort = stopSpeech(at: now)
        floor.release()
    }

    /// Stops what is being said at capture time `now` and returns what was not yet heard; an
    /// answer of the server's cut this way is reported with how much of it was heard.
    @discardableResult
    func stopSpeech(at now: Int) -> [Float] {
        let made = speechOut.made
        let rest = speechOut.cancel(at: now)
        if let answer = playingAnswer {
            let heard = made - rest.count
            background?.reportPlayback(of: answer, heardFraction: made > 0 ? Double(heard) / Double(made) : 0,
                                       playedMs: Int(seconds(heard) * 1000), cut: true)
            // The rest of the answer waiting to be said goes too: the user took the floor from it.
            scheduler.queue.removeAll { $0.taskId != nil && $0.taskId == answer.taskId }
            playingAnswer = nil
        }
        return rest
    }

    private func endTurn(speechEnd: Int, speechStart: Int, now: Int) {
        // The answer replaces a murmur or a count still playing, and one still waiting.
        if floor.holder == .murmur || floor.holder == .count {
            speechOut.cancel(at: now)
            floor.release()
        }
        scheduler.queue.removeAll { $0.kind == .murmur }
        murmurs.turnEnded()
        turnIndex += 1
        silence = nil
        emit(Event(time: seconds(now), kind: .turnEnd,
                   detail: "user spoke \(Event.format(seconds(speechStart)))-\(Event.format(seconds(speechEnd))) s"))
        let (heard, userAudio, cut) = userSpeech.finish()
        if let error = userSpeech.recognizer?.takeError() {
            emit(Event(time: seconds(now), kind: .warning, text: "local commands: \(error)"))
        }
        let reply = composer.reply(
            to: .init(index: turnIndex - 1, durationSeconds: seconds(speechEnd - speechStart), interrupted: interrupted && !continuing,
                      command: heard?.phrase, words: local?.turnWords ?? .unknown),
            context: .init(lastReply: lastReply, hasPausedSpeech: floor.paused != nil, hasCutSpeech: !floor.cutShort.isEmpty || speakingUnderUser,
                           backchannelMaxSeconds: Double(options.config.bargeIn.backchannelMaxMs) / 1000,
                           now: options.startOfCapture.map { $0.addingTimeInterval(seconds(now)) } ?? Date(),
                           repetitions: counts?.source.tally.total ?? 0))
        // A command the words show was an acknowledgement is not one.
        if let command = heard?.phrase, reply.action != .continueSpeaking {
            emit(Event(time: seconds(now), kind: .command, text: command,
                       detail: String(format: "confidence %.2f", heard?.confidence ?? 0)))
        }
        // A reply still playing under the user stops for anything but a backchannel.
        if speakingUnderUser && reply.action != .continueSpeaking { yieldFloor(at: now) }
        perform(reply.action, speechEnd: speechEnd, speechStart: speechStart, userAudio: userAudio, cut: cut, now: now)
        if reply.action != .delegate || translating != nil { lastRequest = nil }
        interrupted = false
        continuing = false
        // "Repeat that" repeats what the device last said about something, not "Louder."
        let remember = reply.action == .delegate || (reply.action == .none && heard?.phrase != "repeat that")
        // Honest about the second tier: with the link down the request waits, and the user hears so;
        // with it up, a short "looking" line (the answer follows as soon as it comes), not an
        // invitation to go on.
        var text = reply.text, detail: String?
        if reply.action == .delegate, let background {
            // A segment being translated gets no acknowledgement: its translation is the reply.
            text = background.isUp ? (translating == nil ? BackgroundRequests.lookingReply : nil)
                : (translating == nil ? BackgroundRequests.offlineReply : Self.translationOffline)
            if let local, translating == nil {
                if background.isUp {
                    // The local model's line about the request, if it is written in time.
                    let ready = local.acknowledge(speechEnd: speechEnd, fallback: BackgroundRequests.lookingReply)
                    text = ready?.text
                    detail = ready?.origin
                } else {
                    local.answerOffline(turn: turnIndex - 1, speechEnd: speechEnd)
                }
            }
        }
        if case .translate = reply.action, background == nil { text = Self.translationNeedsServer }
        local?.turnEnded()
        if let text {
            say(text, speechEnd: speechEnd, now: now, remember: remember, detail: detail)
        }
    }

    private func perform(_ action: ReplyComposer.Action, speechEnd: Int, speechStart: Int, userAudio: [Float], cut: Bool, now: Int) {
        switch action {
        case .none:
            break
        case .halt:
            if floor.replying { stopSpeech(at: now) }
            floor.release()
            floor.paused = nil
        case .pause:
            floor.paused = floor.replying ? stopSpeech(at: now) : floor.cutShort
            floor.release()
        case .resume:
            if let rest = floor.paused, !rest.isEmpty {
                pendingTurnEnd = speechEnd
                floor.take(.reply)
                speechOut.play(rest)
            }
            floor.paused = nil
        case .continueSpeaking where speakingUnderUser:
            speechOut.duck(db: 0)
            pendingBargeIn = nil
            emit(Event(time: seconds(now), kind: .resume, detail: "a backchannel, back to full level without a break"))
        case .continueSpeaking:
            emit(Event(time: seconds(now), kind: .resume, detail: "a backchannel, going on"))
            pendingTurnEnd = speechEnd
            floor.take(.reply)
            speechOut.play(floor.cutShort)
        case let .changeVolume(db):
            speechOut.changeGain(by: db)
        case .delegate:
            if let translating {
                translate(userAudio, into: translating, speechEnd: speechEnd, now: now)
            } else {
                delegate(userAudio, cut: cut, speechEnd: speechEnd, speechStart: speechStart, now: now)
            }
        case let .translate(code):
            translating = background == nil ? nil : TranslationLanguage.code(code)
        case .stopTranslating:
            translating = nil
            let dropped = background?.cancelTranslations() ?? []
            scheduler.queue.removeAll { $0.kind == .translation }
            if !dropped.isEmpty {
                emit(Event(time: seconds(now), kind: .request, detail: "dropped: \(dropped.joined(separator: ", "))"))
            }
        case .dropRequests:
            if floor.replying { stopSpeech(at: now) }
            floor.release()
            floor.paused = nil
            let dropped = background?.cancelAll() ?? []
            scheduler.queue.removeAll { $0.taskId != nil || $0.kind == .progress }
            if !dropped.isEmpty {
                emit(Event(time: seconds(now), kind: .request, detail: "dropped: \(dropped.joined(separator: ", "))"))
            }
        }
        floor.cutShort = []
    }

    /// Capture sample `t` on the link's capture clock (microseconds).
    static func microseconds(_ t: Int) -> UInt64 { UInt64(max(0, t)) * 1_000_000 / UInt64(ProcessingFormat.sampleRate) }

    static let translationNeedsServer = "Translation needs the background server, and none is set up."
    static let translationOffline = "I can't translate while I'm offline."

    /// Sends a segment of live translation (dropped while the link is down: its translation would
    /// come too late to help).
    private func translate(_ userAudio: [Float], into language: TranslationLanguage, speechEnd: Int, now: Int) {
        guard let background, background.isUp else { return }
        do {
            let task = try background.send(userAudio, transcript: nil, endUs: Self.microseconds(speechEnd), at: now, translateTo: language)
            emit(Event(time: seconds(now), kind: .request,
                       detail: "segment of \(Event.format(seconds(userAudio.count))) s, sent for translation to \(language.name) as task \(task)"))
        } catch {
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// Keeps speech that was not a command for the background server, saying if it was cut.
    private func delegate(_ userAudio: [Float], cut: Bool, speechEnd: Int, speechStart: Int, now: Int) {
        do {
            // The rest of a turn the user went on with joins its first part, and is asked whole in
            // place of it: the first part's answer is not said, whether it has come or not.
            // Kept in place of the first part's request (same id): no copy of the first part stays.
            var audio = userAudio, whole = "", joined: PendingRequests.Request?
            if continuing, let last = lastRequest, let first = requests.request(last.id) {
                audio = first.audio + userAudio
                joined = try requests.replace(last.id, time: seconds(speechEnd), audio: audio, transcript: nil)
                whole = ", the whole turn"
                if let task = last.task {
                    background?.withdraw(task)
                    scheduler.queue.removeAll { $0.taskId == task }
                    whole += " in place of task \(task)"
                }
            }
            var evicted: PendingRequests.Request?
            let r: PendingRequests.Request
            if let joined { r = joined } else { (r, evicted) = try requests.add(time: seconds(speechEnd), audio: audio, transcript: nil) }
            var detail = "request \(r.id)\(joined == nil ? "" : " again"), \(Event.format(seconds(r.samples))) s of speech" + whole
            var task: String?
            if let background {
                let online = background.isUp
                let id = try background.send(audio, transcript: nil, endUs: Self.microseconds(speechEnd), at: now)
                detail += online ? ", sent as task \(id)" : ", task \(id) waits for the link"
                task = id
            }
            lastRequest = (r.id, task)
            emit(Event(time: seconds(now), kind: .request, detail: detail))
            if cut {
                let spoke = seconds(speechEnd - speechStart)
                emit(Event(time: seconds(now), kind: .warning,
                           text: "request \(r.id) was cut: it keeps the first \(Event.format(seconds(r.samples))) s of \(Event.format(spoke)) s of speech"))
            }
            // Said once: from here on every new request lets the oldest go.
            if let evicted, requests.directory == nil, evicted.id == requests.firstId {
                emit(Event(time: seconds(now), kind: .warning,
                           text: "request \(evicted.id) dropped, and from now on the oldest each time: memory keeps the latest "
                           + "\(requests.memoryLimit); set commands.requests_directory to keep every one"))
            }
        } catch {
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// Says the reply to a turn; `detail` says where its words came from when not the composer.
    func say(_ text: String, speechEnd: Int, now: Int, remember: Bool, detail: String? = nil) {
        if floor.holder == .underUser { speechOut.cancel(at: now) }  // the reply replaces it
        emit(Event(time: seconds(now), kind: .replyStart, text: text, detail: detail))
        pendingTurnEnd = speechEnd
        floor.take(.reply)
        if remember { lastReply = text }
        playingAnswer = nil  // a reply of the device's own, not the server's answer
        do { try speechOut.say(text) } catch {
            floor.release()
            pendingTurnEnd = nil
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// The rest of the line whose opening is being said (the local model's acknowledgement,
    /// finished after its opening was said at the deadline): it follows in the same reply. Not
    /// said if the device no longer holds the floor for that reply.
    func sayRest(_ rest: String, now: Int, detail: String) {
        guard floor.holder == .reply else { return }
        emit(Event(time: seconds(now), kind: .replyStart, text: rest, detail: Self.restOf + detail))
        lastReply = (lastReply ?? "") + rest
        do { try speechOut.say(rest, continuing: true) } catch {
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// The detail of a reply's rest begins so ("the rest: the local model").
    public static let restOf = "the rest: "
}
