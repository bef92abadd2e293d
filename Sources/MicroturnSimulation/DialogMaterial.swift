import Foundation

/// What a generated dialog's user says and with which voices. `classic` is the material the
/// benches and tests were built on (a few voices, pauses after short comma phrases, every question
/// on espeak-ng's rise). `training` and `heldOut` have the variety people have (voice families and
/// variants, pitch, rate and level spread; pauses after long and short first parts, after fillers
/// and after complete clauses that go on; questions with and without a final rise; short and long
/// turns) and share neither a voice family nor a sentence, so that what is fitted on one is
/// measured on the other.
public struct DialogMaterial: Sendable {
    public var name: String
    /// espeak-ng voice names, with variant (`en-gb+f2`).
    public var voices: [String]
    /// Speaking rates (words a minute), pitch (espeak-ng's 0-99) and level of the user's speech (dBFS).
    public var rates: [Int]
    public var pitches: ClosedRange<Int>
    public var levels: ClosedRange<Double>
    public var statements: [String]
    /// Questions written with `?`: espeak-ng ends them on a rise.
    public var risingQuestions: [String]
    /// Questions written with a full stop: they end on a fall, as many spoken wh-questions do.
    public var fallingQuestions: [String]
    /// Whole turns of one to three words.
    public var shortTurns: [String]
    /// Turns said in two parts with a pause between, and what kind of place the pause is.
    public var pausedTurns: [PausedTurn]

    public struct PausedTurn: Sendable {
        public var first: String
        public var second: String
        /// `comma` (a short phrase on a continuation rise), `long` (a long first part), `filler`
        /// ("um", "uh"), `clause` (a complete sentence, then more).
        public var kind: String
    }

    /// The classic material keeps its exact lists: the same seed makes the same dialog as before.
    public var isClassic: Bool { name == "classic" }

    public static func named(_ name: String) -> DialogMaterial? {
        [classic, training, heldOut].first { $0.name == name }
    }

    public static let names = ["classic", "training", "held-out"]

    public static let classic = DialogMaterial(
        name: "classic",
        voices: ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb+f4"], rates: [140, 175, 210], pitches: 50...50, levels: -28 ... -20,
        statements: [
            "I would like to plan a trip to the mountains next week.",
            "My sister is coming to visit on Saturday.",
            "The kitchen light has been flickering since yesterday.",
            "I finished reading the book you recommended.",
            "We need to buy more coffee and some bread.",
            "The train was late again this morning.",
        ],
        risingQuestions: [
            "Can you tell me what the weather will be like tomorrow?",
            "How long does it take to boil an egg?",
            "What is a good name for a small grey cat?",
            "Could you remind me to call the dentist?",
            "Which song was playing in the shop today?",
            "Is it too late to plant tomatoes this year?",
        ],
        fallingQuestions: [], shortTurns: [],
        // Every first part ends in a comma because espeak-ng ends any other text on a full stop's
        // final fall, and a speaker who stops in mid-phrase does not; the comma gives its
        // continuation tune instead.
        pausedTurns: [
            .init(first: "I would like to plan a trip,", second: "to the mountains next week.", kind: "comma"),
            .init(first: "My sister is coming to visit, um,", second: "on Saturday I think.", kind: "filler"),
            .init(first: "We need to buy coffee and,", second: "some bread for the morning.", kind: "comma"),
            .init(first: "The kitchen light has been flickering,", second: "since yesterday evening.", kind: "comma"),
            .init(first: "Could you remind me, uh,", second: "to call the dentist tomorrow?", kind: "filler"),
            .init(first: "I was thinking that maybe,", second: "we could go out for dinner.", kind: "comma"),
        ])

    public static let training = DialogMaterial(
        name: "training",
        voices: ["en-us", "en-us+m1", "en-us+f1", "en-us+m4", "en-us+f2", "en-gb", "en-gb+m2", "en-gb+f4",
                 "en-gb-x-rp", "en-gb-x-rp+f1", "en-gb-x-gbclan+m4", "en-gb-x-gbclan+f2"],
        rates: Array(stride(from: 120, through: 240, by: 10)), pitches: 25...75, levels: -34 ... -18,
        statements: [
            "I left my umbrella on the bus this morning.",
            "The heating in the living room is not working.",
            "We are having friends over for lunch on Sunday.",
            "My knee has been hurting since the run on Tuesday.",
            "I want to learn to play the piano this winter.",
            "The printer in the office ran out of paper again.",
            "Our neighbours painted their front door bright yellow.",
            "I think I will go for a long walk after dinner tonight because the weather is so nice.",
        ],
        risingQuestions: [
            "Do you know if the library is open on Mondays?",
            "Can I take this medicine with food?",
            "Is there a bus to the airport from here?",
            "Would it be better to stretch before or after the run?",
            "Are there any good films on tonight?",
            "Should I bring a jacket?",
        ],
        fallingQuestions: [
            "What time does the bakery close.",
            "How do I reset the router.",
            "Where did I put my glasses.",
            "Why is the screen so dark.",
            "Who won the match last night.",
            "How many push ups did I do yesterday.",
        ],
        shortTurns: ["Thanks.", "Yes please.", "Not really.", "Sounds good.", "Tell me more.", "Why?", "Really?", "Got it, thanks."],
        pausedTurns: [
            .init(first: "I need to,", second: "call my brother tonight.", kind: "comma"),
            .init(first: "On the way home,", second: "I saw a fox in the park.", kind: "comma"),
            .init(first: "If it rains tomorrow,", second: "we will stay inside.", kind: "comma"),
            .init(first: "After I finished the long report for my manager on Friday afternoon,", second: "I went straight home.", kind: "long"),
            .init(first: "The thing I keep forgetting whenever I go to the supermarket after work,", second: "is the milk.", kind: "long"),
            .init(first: "So, um,", second: "what should I cook tonight?", kind: "filler"),
            .init(first: "I was wondering, uh,", second: "if you could help me with something.", kind: "filler"),
            .init(first: "I went to the gym this morning.", second: "It was really crowded.", kind: "clause"),
            .init(first: "My phone is broken.", second: "The screen cracked when I dropped it.", kind: "clause"),
            .init(first: "We tried the new cafe yesterday.", second: "And the coffee was great.", kind: "clause"),
        ])

    public static let heldOut = DialogMaterial(
        name: "held-out",
        voices: ["en-029", "en-029+m6", "en-029+f5", "en-gb-scotland", "en-gb-scotland+m7", "en-gb-scotland+f3",
                 "en-gb-x-gbcwmd", "en-gb-x-gbcwmd+klatt", "en-gb-x-gbcwmd+f4"],
        rates: Array(stride(from: 125, through: 235, by: 10)), pitches: 20...80, levels: -33 ... -19,
        statements: [
            "The dog next door barked all night long.",
            "I have a meeting with my boss at ten.",
            "We planted three apple trees in the garden.",
            "My bike has a flat tyre again.",
            "The soup I made yesterday was far too salty.",
            "I would like to start running three times a week before work if I can manage it.",
        ],
        risingQuestions: [
            "Is the museum open on Sundays?",
            "Can you help me set an alarm?",
            "Do I need a ticket for the concert?",
            "Where is the nearest pharmacy?",
            "Could we go over my workout plan again?",
            "Is it going to snow this weekend?",
        ],
        fallingQuestions: [
            "What should I make for dinner.",
            "How long should I rest between sets.",
            "When does the next train leave.",
            "Which way is the station.",
            "What is the capital of Canada.",
        ],
        shortTurns: ["Thank you.", "No thanks.", "Okay then.", "Go on.", "Perfect.", "What?", "Yes, please."],
        pausedTurns: [
            .init(first: "Tomorrow morning,", second: "I have to see the doctor.", kind: "comma"),
            .init(first: "When you get a chance,", second: "remind me to water the plants.", kind: "comma"),
            .init(first: "The best thing about the holiday we took in the mountains last summer,", second: "was the food.", kind: "long"),
            .init(first: "Before I start the workout that my trainer gave me last week,", second: "should I warm up?", kind: "long"),
            .init(first: "Well, um,", second: "I am not sure about that.", kind: "filler"),
            .init(first: "Could you, uh,", second: "turn the music down a bit?", kind: "filler"),
            .init(first: "I finished my first marathon.", second: "It took almost five hours.", kind: "clause"),
            .init(first: "The meeting was cancelled.", second: "So I have the afternoon free.", kind: "clause"),
        ])
}
