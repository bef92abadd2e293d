/// Everything Microturn can be configured with. Defaults are the built-in values; a board
/// profile, then the config file, then command-line flags override them (see `ConfigSchema`).
public struct MicroturnConfig: Sendable, Equatable {
    public var board = Board()
    public var audio = Audio()
    public var echo = Echo()
    public var vad = VAD()
    public var turn = Turn()
    public var speech = Speech()
    public var bargeIn = BargeIn()
    public var commands = Commands()
    public var reps = Reps()
    public var link = Link()
    public var translation = Translation()
    public var model = Model()

    public init() {}

    public struct Model: Sendable, Equatable {
        /// How the engine keeps keys and values: "f16" (half the memory, llama.cpp's default) or "f32".
        public var kvCache = "f16"
        /// The device's own chat model (a .gguf, `microturn model subset` makes one that fits the
        /// board): it judges turn ends from the user's words and writes the acknowledgement of a
        /// request; "" for none (turn ends from prosody alone, fixed phrases).
        public var path = ""
        /// The model's acknowledgement is said whole if it is ready this long after the user's
        /// speech ended; otherwise its opening is said then, and the rest follows when written
        /// (the device is never heard later for the model).
        public var replyDeadlineMs = 400
        /// A profile of `path`'s experts (`microturn model profile --out`): which to keep in memory
        /// when `resident_experts` > 0; "" for none.
        public var expertsProfile = ""
        /// Experts per layer kept in memory, the profile's most salient; 0: all (no residency).
        public var residentExperts = 0
        /// What becomes of a pick of another expert: "reroute" (to the best resident one, gates
        /// renormalised; no I/O on the hot path) or "page" (read in from the mapped file through an
        /// LRU cache of `expert_cache` experts, all layers together).
        public var residency = "reroute"
        public var expertCache = 0
        /// How much the words' judgement moves the turn-end log-odds: the prosody model's log-odds
        /// plus weight x (logit P(end | words) - logit center). 0: the words do not count.
        public var wordsWeight = 1.0
        /// P(end | words) that says nothing either way: 0.5, as the judge's weights are fitted with
        /// the prosody model's log-odds (`bench fit-turns --local-model`).
        public var wordsCenter = 0.5
    }

    public struct Board: Sendable, Equatable {
        public var name = "builtin"
        public var description = "built-in defaults"
        /// Worker threads the board can give to inference (used by later modules).
        public var threads = 2
        /// The camera: a stable path (/dev/v4l/by-id/...) or a driver or card name ("" for none).
        public var camera = ""
        /// The CPU architecture the profile is for ("aarch64" or "x86_64"), and its cores.
        public var architecture = Board.thisArchitecture
        public var cores = 2
        /// The memory the device's unit may use (systemd MemoryHigh, where the kernel starts
        /// reclaiming, and MemoryMax, where it is killed), in MiB; 0 for no limit.
        public var memoryHighMb = 0
        public var memoryMaxMb = 0
        /// The thermal zone that tells the SoC's temperature (its `type` in /sys/class/thermal;
        /// "" for the hottest), the temperature where the board starts throttling (a warning in
        /// `microturn diag`) and where it shuts down (a failure).
        public var thermalZone = ""
        public var thermalWarnC = 80.0
        public var thermalCriticalC = 95.0

        #if arch(arm64)
        public static let thisArchitecture = "aarch64"
        #else
        public static let thisArchitecture = "x86_64"
        #endif
    }

    public struct Audio: Sendable, Equatable {
        public var captureDevice = "default"
        public var playbackDevice = "default"
        /// Rate asked of the hardware; the nearest the device supports is used and converted.
        public var rate = 48_000
        /// Channels asked of the hardware; capture is mixed down to mono, playback copied out.
        public var channels = 1
        /// Sample formats to try, in order of preference.
        public var formats: [String] = ["S16_LE", "S32_LE", "FLOAT_LE"]
        public var periodMs = 10
        /// Playback/capture buffer, in periods. Playback latency is at most this many periods.
        public var bufferPeriods = 3
        /// Longest wait between attempts to reopen a device that vanished or refused to open.
        public var reopenMaxSeconds = 8.0
    }

    public struct Echo: Sendable, Equatable {
        public var enabled = true
        /// Echo tail the canceller models (a third of the room's reverberation time, plus path delay).
        public var tailMs = 200
        /// Extra suppression of residual echo by the preprocessor (negative dB).
        public var suppressDb = -40
    }

    public struct VAD: Sendable, Equatable {
        /// `adaptive` (noise-tracking, voicing-aware) or `energy` (fixed threshold, the baseline).
        public var method = "adaptive"
        /// Fixed threshold of the `energy` method, in dBFS.
        public var energyThresholdDb = -40.0
        /// How far above the tracked noise floor speech must be (dB), for `adaptive`.
        public var snrDb = 6.0
        /// Speech must last this long before speech_start is declared.
        public var onsetMs = 40
        /// Non-speech frames bridged inside one utterance.
        public var hangoverMs = 100
    }

    public struct Turn: Sendable, Equatable {
        /// Length of one micro-turn, the period of non-urgent decisions (40-400 ms).
        public var microTurnMs = 200
        /// Silence after speech that ends the user's turn: the shortest wait, when the turn-end
        /// model is sure (or the whole wait, with the model off).
        public var endSilenceMs = 160
        /// Weigh how the speech ended (pitch, energy, a trailing "and" or "um") to decide how long
        /// to wait; off: a fixed `end_silence_ms`.
        public var predict = true
        /// The longest wait, when the model is sure the user is only pausing.
        public var maxSilenceMs = 1600
        /// Probability that the user is done at which the device takes the turn.
        public var threshold = 0.32
        /// Silence that adds one to the model's log-odds (each 2 s of silence makes an end more
        /// likely by a factor e): the model's doubt, more than the silence, sets the wait.
        public var msPerLogit = 2000
        /// Murmur "mm-hm" in a pause of a long user turn that the model says is not over (off by
        /// default: a kiosk should not talk while a stranger thinks).
        public var backchannel = false
        /// The user must have talked this long in the turn before the device murmurs.
        public var backchannelAfterMs = 2500
    }

    public struct Speech: Sendable, Equatable {
        public var voice = "en-us"
        public var rateWpm = 175
        public var pitch = 50
        public var gainDb = 0.0
    }

    public struct Commands: Sendable, Equatable {
        public var enabled = true
        /// Phrases the grammar accepts. Each must be one of the built-in local skills.
        public var phrases = ["stop", "pause", "resume", "repeat that", "louder", "quieter", "what time is it",
                              "how many reps", "never mind", "forget it", "help"]
            + TranslationLanguage.all.map(\.command) + [TranslationLanguage.stopCommand]
        /// How much better (log-likelihood per 10 ms) a command must explain the audio than other speech.
        public var margin = 0.3
        /// More margin for each word of a command after the first.
        public var marginPerWord = 0.25
        /// Silence after a complete command that ends the turn.
        public var endSilenceMs = 100
        /// Where speech for the background server is kept (WAV + JSON per request); empty: in memory only.
        public var requestsDirectory = ""
    }

    /// Repetitions counted from the camera, and how the device counts them aloud.
    public struct Reps: Sendable, Equatable {
        /// "every" repetition, "every5" (every fifth), or "off".
        public var announce = "every"
        /// The set's target (0: none): with one, "Halfway." and "Last one." too.
        public var target = 0
    }

    /// Live translation ("translate to Spanish" ... "stop translating"): each segment of the
    /// user's speech goes to the server as it ends, and its translation is said in a pause.
    public struct Translation: Sendable, Equatable {
        /// A pause this long ends a segment (the turn-end model's longer waits do not apply).
        public var segmentPauseMs = 400
        /// Say each translation as soon as it comes, under the user's speech, ducked by
        /// `duckDb`, instead of waiting for their pause; the user's speech then neither stops it
        /// nor is held up by it.
        public var overUser = false
        public var duckDb = -12.0
    }

    /// The link to the background server (PROTOCOL.md in MicroturnLink).
    public struct Link: Sendable, Equatable {
        /// "HOST:PORT" of microturn-server; "" runs without a background tier.
        public var server = ""
        /// This device's name on the link (its certificate's); "" takes the host name.
        public var deviceId = ""
        /// The device's link credentials (device.key, device.pem, ca.pem: `microturn provision`)
        /// and its durable outbox.
        public var directory = "/var/lib/microturn/link"
        /// No TLS: for development with a server on this machine only.
        public var plaintext = false
        /// The request speech's Opus bitrate (VBR), bits per second.
        public var opusBitrate = 16_000
        /// Loss the link is expected to have, percent: above 0, each Opus packet carries in-band
        /// FEC (the one before it, coarser) sized for that loss; 0 spends nothing on it.
        public var opusFecLossPercent = 0
        /// Ask the server to speak its answers (Opus over the link) instead of saying their text
        /// here: for a server with a better voice than the device's; it costs about 16 kbit/s.
        public var serverSpeech = false
        /// Take the server's unasked remarks on what the device reports ("Nice set of 8; the
        /// last three were slower."), said only in a pause.
        public var interjections = true
        /// On a run on files (the virtual clock) only: how long, in wall time, each request waits
        /// for its answer before the run goes on, so that an answer is said at the same point of
        /// the input every time, as from an instant server, however busy the machines are. An
        /// answer later than that is said when it comes.
        public var answerWaitSeconds = 30.0
    }

    public struct BargeIn: Sendable, Equatable {
        public var enabled = true
        /// Speech while the device talks must last this long to duck it. One frame (20 ms) is
        /// enough: a duck costs little if it was a click (the device goes back to full level), and
        /// the user hears the device yield 20 ms sooner than after the detector's onset. With
        /// `stopAfterMs` 0 (stop at once) a click would stop it: 40 suits that better.
        public var minSpeechMs = 20
        /// How far the device's speech drops at once when the user starts over it, dB: the user
        /// hears it yield, and a backchannel goes by without a gap in what it says.
        public var duckDb = 12
        /// The device stops (and keeps what it did not say) when the user's speech over it lasts
        /// this long; a shorter one lets it go back to full level at the user's stop. 0: it stops
        /// at once, without ducking.
        public var stopAfterMs = 500
        /// Where the user's words are known (a local model, with its recognizer): they stop the
        /// device at a word that takes the floor ("wait", "no", "what"), and speech over it that
        /// has given no word yet, or only acknowledgements, stops it after this long (a word is
        /// known only once said: a drawn-out "okay" must not stop it). 0: stop at once.
        public var wordsStopAfterMs = 800
        /// Where the user's words are known: speech over the device's reply that begins within
        /// this long of the end of the turn it answers is the user going on with that turn (the
        /// device took a pause for its end), so any word that is not an acknowledgement stops the
        /// device at once, not after `stopAfterMs`. Later in the reply such words may be a
        /// recognizer's mishearing of "yeah", and wait for `stopAfterMs`. 0: off.
        public var resumeWithinMs = 1500
        /// Speech over the device shorter than this that is not a command is a backchannel
        /// ("yeah", "okay"): the device goes on from where it stopped.
        public var backchannelMaxMs = 600
    }
}
