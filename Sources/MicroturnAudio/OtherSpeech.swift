import Foundation

/// Common English words that stand for "anything else" in the command grammar: speech that is not
/// a command decodes as a run of these instead of being forced onto the nearest command.
/// (Frequent function words, everyday verbs and nouns, and the backchannels and fillers people say
/// while listening, "sure", "uh huh", so those are not heard as "stop"; command words are removed at
/// use, words missing from the pronunciation dictionary are skipped.)
enum OtherSpeech {
    static let words = """
    a about after again all also am an and any are as ask at away back bad be because been before being \
    best better big book bread but buy by call came can car cat could day did do does dog done down each \
    egg else even every find first for from get give go going good got great had has have he her here him \
    his home house i if in into is it its just know last late like little long look lot make man many may \
    me more morning most much music must my name need never new next night no not now of off oh okay old \
    on one only or other our out over people play put really right said same saw say see she should show \
    so some something song start still such take tell than thank thanks that the their them then there these \
    they thing think this those three through to today together tomorrow too took train turn two up us use \
    very visit want was watch water way we weather week well went were what when where which while who why \
    will with work would yeah year yes yesterday you your \
    sure uh huh hmm mm um ah alright cool fine nice wow exactly indeed maybe
    """.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
}
