#!/usr/bin/env python3
"""Spoken exchanges of the kinds a device meets, for fitting and measuring the local model.

  tools/make-corpus.py --out DIR [--seed N] [--exchanges N]

Writes DIR/{fitness,kiosk,troubleshooting,smalltalk}.{train,test}.txt and DIR/all.train.txt (the
domains' train exchanges interleaved).
Each exchange is a few lines of "User: ..." and "Device: ..." as a person would say them
(fillers, false starts, short answers). The held-out (test) side is not the train side with
another seed only: each domain's phrasings and the things talked about (exercises, places,
devices, topics) are split in two, and test exchanges use only the held-out halves, so a model
fitted on train is measured on sentences it never saw.
Deterministic for a given seed.
"""
import argparse
import os
import random

FILLERS = ["", "", "", "um, ", "uh, ", "so ", "okay so ", "well, ", "hey, ", "right, "]

DOMAINS = {
    "fitness": {
        "things": ["squats", "push-ups", "lunges", "burpees", "planks", "jumping jacks", "bicep curls", "shoulder presses",
                   "sit-ups", "mountain climbers", "deadlifts", "calf raises", "glute bridges", "wall sits", "tricep dips",
                   "high knees", "side planks", "bench presses", "pull-ups", "kettlebell swings"],
        "user": ["how many {x} should I do today", "can you count my {x}", "is my form okay on the {x}",
                 "what's a good warm up before {x}", "my knees hurt when I do {x}, should I stop",
                 "how long should I rest between sets of {x}", "start a timer for {x}", "how many {x} did I just do",
                 "can you make the {x} easier", "what muscles do {x} work", "I want to get better at {x}",
                 "should I breathe in or out on the {x}", "give me a quick routine with {x}", "is it bad to do {x} every day",
                 "how fast should I go on the {x}", "let's do three sets of {x}"],
        "device": ["Let's start with three sets of ten {x}. I'll count for you.", "Keep your back straight and go slow on the {x}.",
                   "That was twelve {x}. Nice work, take thirty seconds.", "If it hurts, stop the {x} and try a smaller range.",
                   "Rest about a minute between sets of {x}.", "Breathe out as you push on the {x}.",
                   "{X} work your legs and your core.", "Try five slow {x} first, then we'll build up.",
                   "Good pace. Two more {x} and you're done.", "Warm up with a minute of marching before the {x}."],
    },
    "kiosk": {
        "things": ["the museum", "the train station", "the library", "the city hall", "the science center", "the botanical garden",
                   "the art gallery", "the bus terminal", "the swimming pool", "the post office", "the visitor center",
                   "the cathedral", "the harbor", "the market hall", "the old town", "the concert hall", "the zoo", "the castle",
                   "the history museum", "the ferry pier"],
        "user": ["when does {x} open", "how do I get to {x}", "is {x} open on sundays", "how much is a ticket for {x}",
                 "can you show me {x} on the map", "is there a cafe near {x}", "how far is {x} from here",
                 "which bus goes to {x}", "is {x} wheelchair accessible", "are there guided tours of {x}",
                 "what's on at {x} this week", "where can I park near {x}", "do I need to book {x} in advance",
                 "can I bring my dog to {x}", "what time does {x} close today", "is {x} free for children"],
        "device": ["{X} opens at nine and closes at six.", "Take the number four bus, it stops right at {x}.",
                   "{X} is about ten minutes on foot, down the main street.", "Tickets for {x} are twelve euros, children go free.",
                   "Here it is on the map. {X} is the blue marker.", "There's a cafe just across from {x}.",
                   "Yes, {x} has ramps and a lift at the side entrance.", "Guided tours of {x} start every hour.",
                   "You don't need to book {x}, just walk in.", "The nearest car park to {x} is on Station Road."],
    },
    "troubleshooting": {
        "things": ["the microphone", "the speaker", "the camera", "the wifi", "the screen", "the volume", "the network",
                   "the bluetooth", "the battery", "the display", "the touch screen", "the sound", "the connection",
                   "the update", "the fan", "the power button", "the headphones", "the clock", "the brightness", "the remote"],
        "user": ["{x} isn't working", "why is {x} so slow", "can you check {x}", "{x} keeps cutting out",
                 "I think {x} is broken", "how do I reset {x}", "{x} stopped working after the update",
                 "is {x} turned on", "why can't you hear me, is it {x}", "can you test {x} for me",
                 "what's wrong with {x}", "{x} makes a weird noise", "how do I turn off {x}", "{x} was fine yesterday",
                 "can you fix {x}", "who do I call about {x}"],
        "device": ["Let me run a quick test of {x}.", "{X} looks fine from here. Try unplugging it for ten seconds.",
                   "I can't reach the server, so I'll check {x} locally.", "{X} is working again. Can you try now?",
                   "I'll restart {x}. It takes about a minute.", "{X} reports an error. I've saved a report for the technician.",
                   "Try moving a little closer, {x} picks you up better then.", "I've turned {x} back on.",
                   "The test of {x} passed. The problem may be somewhere else.", "I'll write down that {x} failed and when."],
    },
    "smalltalk": {
        "things": ["the weather", "the weekend", "the football", "your day", "the news", "music", "the holidays",
                   "a good book", "cooking", "the garden", "my dog", "the movie last night", "coffee", "the traffic",
                   "the rain", "my birthday", "summer", "the neighbors", "the concert", "breakfast"],
        "user": ["what do you think about {x}", "let's talk about {x}", "did you hear about {x}", "I love {x}",
                 "tell me something about {x}", "I'm so tired of {x}", "how was {x}", "do you like {x}",
                 "I was just thinking about {x}", "guess what happened with {x}", "can we chat about {x} for a bit",
                 "honestly {x} made my day", "I can't stop thinking about {x}", "what's new with {x}",
                 "you won't believe {x}", "I'm not sure about {x}"],
        "device": ["Oh, {x}! Tell me more.", "I'd love to hear about {x}.", "That sounds fun. What was the best part of {x}?",
                   "I don't know much about {x}, but I'm listening.", "Ha, {x} always gets people talking.",
                   "Really? What happened with {x}?", "I hope {x} gets better soon.", "Nice. {X} sounds lovely.",
                   "That's a good question about {x}. What do you think?", "Mm, {x}. I can see why you'd say that."],
    },
}

CLOSERS_USER = ["thanks", "okay", "great, thank you", "got it", "perfect", "alright", "cool", "that helps", "mm-hm", "sure"]
CLOSERS_DEVICE = ["You're welcome.", "Anytime.", "Glad to help.", "Let me know if you need anything else.", "Sure thing."]


def halves(items, rng):
    items = list(items)
    rng.shuffle(items)
    cut = (len(items) * 3) // 4
    return items[:cut], items[cut:]


def exchange(rng, d, things, users, devices):
    x = rng.choice(things)
    lines = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        u = rng.choice(FILLERS) + rng.choice(users).format(x=x)
        u = u[0].upper() + u[1:] + rng.choice(["?", "?", ".", "..."])
        lines.append("User: " + u)
        lines.append("Device: " + rng.choice(devices).format(x=x, X=x[0].upper() + x[1:]))
    if rng.random() < 0.5:
        lines.append("User: " + rng.choice(CLOSERS_USER).capitalize() + ".")
        lines.append("Device: " + rng.choice(CLOSERS_DEVICE))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--exchanges", type=int, default=600, help="train exchanges per domain (test: a third as many)")
    a = ap.parse_args()
    if a.exchanges < 10:
        ap.error("--exchanges must be at least 10")
    os.makedirs(a.out, exist_ok=True)
    everything = []
    for name, d in DOMAINS.items():
        # The split of phrasings and things is fixed (seed 0): the held-out half never changes
        # with --seed, only which exchanges are drawn.
        split = random.Random(f"split-{name}")
        things = halves(d["things"], split)
        users = halves(d["user"], split)
        devices = halves(d["device"], split)
        for side, k, n in (("train", 0, a.exchanges), ("test", 1, max(10, a.exchanges // 3))):
            rng = random.Random(f"{a.seed}-{name}-{side}")
            exchanges = [exchange(rng, d, things[k], users[k], devices[k]) for _ in range(n)]
            with open(os.path.join(a.out, f"{name}.{side}.txt"), "w") as f:
                f.write("\n\n".join(exchanges) + "\n")
            if side == "train":
                everything.append(exchanges)
    # The domains interleaved, so any prefix of it (what a fit reads) has all four.
    with open(os.path.join(a.out, "all.train.txt"), "w") as f:
        f.write("\n\n".join(e for group in zip(*everything) for e in group) + "\n")
    print(f"make-corpus: {len(DOMAINS)} domains, {a.exchanges} train and {max(10, a.exchanges // 3)} test exchanges each, in {a.out}")


if __name__ == "__main__":
    main()
