import Foundation
import MicroturnCore
@testable import MicroturnInference
import Testing
import TestSupport

/// MoEfication of the real model (SmolLM2-135M), checked against the dense model and llama.cpp;
/// profiles and subsets of the result, and what they refuse.
@Suite(.serialized, .ownThreads) struct MoEficationTests {
    /// A short corpus of device exchanges (tools/make-corpus.py), its train side for all domains.
    static func corpus() throws -> String {
        let dir = ReferenceTools.temp("corpus")
        _ = try ReferenceTools.run(["tools/make-corpus.py", "--out", dir, "--exchanges", "40"])
        return try String(contentsOfFile: dir + "/all.train.txt", encoding: .utf8)
    }

    static let prompt = "User: Um, how many squats should I do today?\nDevice: Let's start with three sets of ten squats. I'll count for you.\nUser: Okay, and how long should I rest?"

    /// moefy through the library, as the command does.
    static func moefy(_ dense: String, experts: Int, used: Int, router: MoEfication.Router, out: String) throws {
        let file = try GGUFFile(path: dense)
        let t = try Transformer(file: file, threads: 2)
        let options = MoEfication.Options(experts: experts, used: used, router: router, sampleTokens: 256)
        try MoEfication.check(t.config, file, options)
        let ids = try Tokenizer(file: file).encode(try corpus(), special: false)
        let samples = try MoEfication.Samples.collect(t, corpus: ids, limit: options.sampleTokens, context: options.context)
        #expect(samples.tokens == 256)
        let plans = try MoEfication.plan(samples, file: file, options: options)
        // Every neuron in exactly one expert, the experts equal in size.
        for p in plans {
            #expect(p.neurons.map(\.count) == Array(repeating: samples.hiddenWidth / experts, count: experts))
            #expect(Set(p.neurons.joined()) == Set(0..<samples.hiddenWidth))
        }
        try MoEfication.writer(file, t.config, plans: plans, options: options, provenance: [("microturn.moefy.router", .string(router.rawValue))]).write(to: out)
    }

    /// One fitted MoE (8 experts, 4 used) of the real model, made once for the tests that read it.
    static let fitted: Result<String, Error> = Result {
        let path = ReferenceTools.temp("smollm2-moe8f.gguf")
        try moefy(try ReferenceTools.smolLM2(), experts: 8, used: 4, router: .fitted, out: path)
        return path
    }

    static func tokens(_ path: String) throws -> [Int] {
        let tokenizer = try Tokenizer(file: GGUFFile(path: path))
        return [tokenizer.bos ?? 0] + tokenizer.encode(prompt, special: false)
    }

    @Test func everyExpertWithAUniformRouterIsTheDenseModelToFloatRounding() throws {
        // The dense model in F32 (llama.cpp's quantizer dequantizes it), so the down columns are
        // re-sliced exactly and the only differences left are the order of the sums.
        let dense = ReferenceTools.temp("smollm2-f32.gguf"), moe = ReferenceTools.temp("smollm2-moe8.gguf")
        defer { for f in [dense, moe] { try? FileManager.default.removeItem(atPath: f) } }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", try ReferenceTools.smolLM2(), "--out", dense, "--type", "F32"])
        try Self.moefy(dense, experts: 8, used: 8, router: .uniform, out: moe)
        let config = try ModelConfig(GGUFFile(path: moe))
        #expect(config.experts == 8 && config.expertsUsed == 8)
        let ids = try Self.tokens(dense)
        let want = try Transformer(path: dense, threads: 2).forward(tokens: ids, allLogits: true)
        let got = try Transformer(path: moe, threads: 2).forward(tokens: ids, allLogits: true)
        let llama = try LlamaReferenceTests.reference(moe, tokens: ids)
        let range = Double(want.max()! - want.min()!)
        let ours = zip(want, got).map { Double(abs($0 - $1)) }.max()! / range
        let theirs = zip(llama, got).map { Double(abs($0 - $1)) }.max()! / range
        #expect(ours <= 1e-5, "the MoE's logits differ from the dense model's by \(ours) of their range")
        #expect(theirs <= 1e-5, "llama.cpp's logits of the MoE differ from ours by \(theirs) of their range")
    }

    @Test func aFittedMoEItsProfileAndASubsetLoadInLlamaCppAndAgree() throws {
        let moe = try Self.fitted.get(), sub = ReferenceTools.temp("smollm2-moe8f-sub4.gguf")
        defer { try? FileManager.default.removeItem(atPath: sub) }
        let file = try GGUFFile(path: moe)
        let config = try ModelConfig(file)
        let t = try Transformer(file: file, threads: 2)
        let ids = try Self.tokens(moe)
        let profile = try ExpertProfile.measure(t, corpus: ids + ids, context: 64, maxTokens: 10_000)
        // Each token chose `used` experts in every layer, and the weights of its choices sum to 1.
        for layer in profile.layers {
            #expect(layer.map(\.chosen).reduce(0, +) == profile.tokens * 4)
            #expect(abs(layer.map(\.gateWeight).reduce(0, +) - Double(profile.tokens)) < 1e-3 * Double(profile.tokens))
        }
        try profile.check(against: file, layers: config.layers, experts: config.experts)
        // Keeping 2 of 8 caps the used count at 2 (moefy's down projections rescaled to match).
        let kept = profile.mostSalient(2)
        try ExpertSubset.writer(file, config, kept: kept).write(to: sub)
        let subFile = try GGUFFile(path: sub)
        let subConfig = try ModelConfig(subFile)
        #expect(subConfig.experts == 2 && subConfig.expertsUsed == 2)
        // The subset's neuron map is the kept experts' (a subset of it can be refitted too).
        let map = try #require(MoEfication.neurons(of: file, layers: config.layers, experts: 8))
        #expect(MoEfication.neurons(of: subFile, layers: config.layers, experts: 2) == zip(kept, map).map { k, m in k.map { m[$0] } })
        for (name, path) in [("MoE", moe), ("subset", sub)] { try Self.agreesWithLlamaCpp(name, path, tokens: ids) }
    }

    /// A file against llama.cpp. Its F32 twin (llama.cpp's quantizer dequantizes it) is the truth
    /// both engines must reach to float rounding; on the quantized file both round activations to
    /// 8 bits, and a token whose top experts are close may go to another one in each engine, so
    /// ours must be no further from the truth than llama.cpp's, within 25 %.
    static func agreesWithLlamaCpp(_ name: String, _ path: String, tokens ids: [Int]) throws {
        let f32 = ReferenceTools.temp("\(name)-f32.gguf")
        defer { try? FileManager.default.removeItem(atPath: f32) }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", path, "--out", f32, "--type", "F32"])
        let truth = try LlamaReferenceTests.reference(f32, tokens: ids)
        let ourTruth = try Transformer(path: f32, threads: 2).forward(tokens: ids, allLogits: true)
        let ours = try Transformer(path: path, threads: 2).forward(tokens: ids, allLogits: true)
        let theirs = try LlamaReferenceTests.reference(path, tokens: ids)
        try #require(ours.count == theirs.count && truth.count == ours.count)
        let range = Double(truth.max()! - truth.min()!)
        let f32Difference = zip(ourTruth, truth).map { Double(abs($0 - $1)) }.max()! / range
        #expect(f32Difference <= 1e-4, "\(name) in F32: max difference from llama.cpp \(f32Difference) of the range")
        let ourError = SmolLM2ReferenceTests.errors(ours, truth, range: range), theirError = SmolLM2ReferenceTests.errors(theirs, truth, range: range)
        #expect(ourError.rms <= 1.25 * theirError.rms, "\(name): rms error from the F32 logits: ours \(ourError.rms), llama.cpp's \(theirError.rms)")
    }

    /// Three subsets of 4 of 8 experts: the profile's experts as cut, the same refitted, and the
    /// neurons the refit loses least without, regrouped (in fewer bytes: its downs are Q4_1); each
    /// is closer to the dense model on held-out text than the one before, and llama.cpp agrees on the last.
    @Test func aRefittedSubsetIsCloserToTheDenseModelThanTheSameSubsetAsCutAndChosenNeuronsCloserStill() throws {
        let dense = try ReferenceTools.smolLM2()
        let moe = try Self.fitted.get(), cut = ReferenceTools.temp("cut.gguf"), refit = ReferenceTools.temp("refit.gguf")
        let regrouped = ReferenceTools.temp("regrouped.gguf")
        defer { for f in [cut, refit, regrouped] { try? FileManager.default.removeItem(atPath: f) } }
        let file = try GGUFFile(path: moe), denseFile = try GGUFFile(path: dense)
        let config = try ModelConfig(file)
        let ids = try Tokenizer(file: file).encode(try Self.corpus(), special: false)
        // More train tokens than kept neurons (768), or the least squares has nothing to stand on.
        let train = Array(ids.prefix(2048)), test = Array(ids.dropFirst(2048).prefix(256))
        try #require(test.count == 256)
        let profile = try ExpertProfile.measure(try Transformer(file: file, threads: 2), corpus: train, context: 128, maxTokens: 2048)
        let kept = profile.mostSalient(4)
        let neurons = try #require(MoEfication.neurons(of: file, layers: config.layers, experts: 8))
        #expect(neurons.allSatisfy { Set($0.joined()).count == 1536 })
        let denseModel = try Transformer(file: denseFile, threads: 2)
        let statistics = try DownRefit.Statistics.collect(denseModel, corpus: train, limit: 2048, context: 128)
        #expect(statistics.tokens == 2048)
        let downs = try DownRefit.fit(statistics, kept: zip(kept, neurons).map { k, n in k.flatMap { n[$0] } })
        try ExpertSubset.writer(file, config, kept: kept, used: 4).write(to: cut)
        try ExpertSubset.writer(file, config, kept: kept, used: 4, downs: downs).write(to: refit)
        let reference = try Divergence.reference(denseModel, tokens: test, context: 64, bos: nil, maxChunks: 4)
        let asCut = try Divergence.measure(try Transformer(path: cut, threads: 2), against: reference)
        let refitted = try Divergence.measure(try Transformer(path: refit, threads: 2), against: reference)
        #expect(refitted.meanKL < 0.8 * asCut.meanKL, "KL from the dense model on held-out text: refitted \(refitted.meanKL), as cut \(asCut.meanKL)")
        try ExpertSubset.regroupedWriter(file, config, statistics: statistics, experts: 4, threads: 2).write(to: regrouped)
        let regroupedFile = try GGUFFile(path: regrouped)
        let regroupedConfig = try ModelConfig(regroupedFile)
        #expect(regroupedConfig.experts == 4 && regroupedConfig.expertsUsed == 4)
        // Its down projections are written as its gate and up rows are (Q4_1), and it takes the
        // bytes the budget arithmetic of `model subset` counts on.
        #expect(ExpertSubset.regroupedDownType(file) == .q4_1)
        #expect(regroupedFile.tensors.filter { $0.name.hasSuffix("ffn_down_exps.weight") }.allSatisfy { $0.type == .q4_1 })
        let sizes = (ExpertSubset.Sizes(regroupedFile, experts: 4), ExpertSubset.Sizes(file, experts: 8, downType: .q4_1))
        let refitSizes = ExpertSubset.Sizes(try GGUFFile(path: refit), experts: 4)
        #expect(sizes.0.expertBytes == 4 * sizes.1.bytesPerExpert && sizes.0.otherBytes == refitSizes.otherBytes)
        #expect(sizes.0.expertBytes < refitSizes.expertBytes)
        // Its neuron map: 4 experts of 192 distinct dense neurons.
        let map = try #require(MoEfication.neurons(of: regroupedFile, layers: config.layers, experts: 4))
        #expect(map.allSatisfy { $0.map(\.count) == [192, 192, 192, 192] && Set($0.joined()).count == 768 })
        let chosen = try Divergence.measure(try Transformer(path: regrouped, threads: 2), against: reference)
        #expect(chosen.meanKL < 0.8 * refitted.meanKL, "KL from the dense model on held-out text: chosen neurons \(chosen.meanKL), the profile's experts refitted \(refitted.meanKL)")
        try Self.agreesWithLlamaCpp("regrouped", regrouped, tokens: try Self.tokens(moe))
    }

    /// Q4_1 as a refitted down projection is written: every value within half a step of the
    /// block's (F16) grid, as the engine reads it back.
    @Test func rowsWrittenAsQ4_1ReadBackWithinHalfAStep() {
        var g = SplitMix64(seed: 7)
        let row = (0..<256).map { i in i < 32 ? Float(1) : Float(Double(g.next() % 10_000) / 1_000 - 3) * (i >= 224 ? 0.001 : 1) }
        let bytes = RowEncoding.encode(row, as: .q4_1)
        #expect(bytes.count == 256 / 32 * 20)
        var back = [Float](repeating: .nan, count: 256)
        bytes.withUnsafeBytes { b in back.withUnsafeMutableBufferPointer { Dequantize.row(b.baseAddress!, type: .q4_1, count: 256, into: $0.baseAddress!) } }
        for b in stride(from: 0, to: 256, by: 32) {
            let block = row[b..<(b + 32)], step = (block.max()! - block.min()!) / 15
            for j in b..<(b + 32) { #expect(abs(back[j] - row[j]) <= step / 2 * 1.01 + abs(row[j]) * 1e-3, "value \(j): \(row[j]) read back as \(back[j])") }
        }
        #expect(back[0..<32].allSatisfy { $0 == 1 }, "a constant block is exact")
    }

    @Test func theDistillersGradientsAreTheLossesSlopes() throws {
        let r = try ReferenceTools.tool(["tools/distill-subset.py", "--self-check"], stdout: true)
        #expect(r.status == 0 && r.out.contains("(ok)"), "\(r.out)\(r.err)")
    }

    /// tools/distill-subset.py on a refitted subset of the real model: trained on two chunks (the
    /// same batch every step), the file it writes is the subset's size and the engine finds it
    /// closer to the dense model on them (what it learned survives being written back in Q4_1 and Q8_0).
    @Test func aDistilledSubsetIsCloserToTheDenseModelOnItsTextAndTheSameSize() throws {
        let dense = try ReferenceTools.smolLM2()
        let moe = try Self.fitted.get(), refit = ReferenceTools.temp("refit.gguf"), distilled = ReferenceTools.temp("distilled.gguf")
        let idsFile = ReferenceTools.temp("ids.json")
        defer { for f in [refit, distilled, idsFile] { try? FileManager.default.removeItem(atPath: f) } }
        let file = try GGUFFile(path: moe), denseFile = try GGUFFile(path: dense)
        let config = try ModelConfig(file)
        let ids = try Tokenizer(file: file).encode(try Self.corpus(), special: false)
        let train = Array(ids.prefix(2048)), chunk = Array(ids.prefix(128))
        let kept = try ExpertProfile.measure(try Transformer(file: file, threads: 2), corpus: train, context: 128, maxTokens: 2048).mostSalient(4)
        let neurons = try #require(MoEfication.neurons(of: file, layers: config.layers, experts: 8))
        let denseModel = try Transformer(file: denseFile, threads: 2)
        let statistics = try DownRefit.Statistics.collect(denseModel, corpus: train, limit: 2048, context: 128)
        #expect(statistics.tokens == 2048)
        let downs = try DownRefit.fit(statistics, kept: zip(kept, neurons).map { k, n in k.flatMap { n[$0] } })
        try ExpertSubset.writer(file, config, kept: kept, used: 4, downs: downs).write(to: refit)
        try Data("{\"ids\":[\(chunk.map(String.init).joined(separator: ","))]}".utf8).write(to: URL(fileURLWithPath: idsFile))
        let r = try ReferenceTools.tool(["tools/distill-subset.py", "--dense", dense, "--subset", refit, "--ids", idsFile, "--out", distilled,
                                         "--steps", "8", "--batch", "2", "--ctx", "64", "--lr", "1e-4"])
        try #require(r.status == 0, "\(r.err)")
        let kl = r.err.split(separator: "\n").compactMap { line in line.range(of: "KL ").flatMap { Double(line[$0.upperBound...].prefix { $0 != " " }) } }
        // On SmolLM2's 24-of-48 fitness subset this went 0.27 -> 0.06 nats, step by step.
        #expect(kl.count == 8 && kl.last! < 0.5 * kl.first!, "\(r.err)")
        let size = { (path: String) in try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int }
        #expect(try size(distilled) == size(refit))
        let reference = try Divergence.reference(denseModel, tokens: chunk, context: 64, bos: nil, maxChunks: 2)
        let before = try Divergence.measure(try Transformer(path: refit, threads: 2), against: reference)
        let after = try Divergence.measure(try Transformer(path: distilled, threads: 2), against: reference)
        #expect(after.meanKL < before.meanKL, "KL from the dense model on the chunks it was trained on: distilled \(after.meanKL), refitted \(before.meanKL)")
    }

    @Test func reroutingToResidentExpertsIsTheSubsetAndPagingChangesNothingButMemory() throws {
        // In F32: on quantized weights both sides round activations to 8 bits, and a rounding
        // that goes the other way moves later logits by percents (see SmolLM2ReferenceTests).
        let moe = ReferenceTools.temp("moe8f-f32.gguf"), sub = ReferenceTools.temp("sub4.gguf")
        defer { for f in [moe, sub] { try? FileManager.default.removeItem(atPath: f) } }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", try Self.fitted.get(), "--out", moe, "--type", "F32"])
        let file = try GGUFFile(path: moe)
        let config = try ModelConfig(file)
        let t = try Transformer(file: file, threads: 2)
        let ids = try Self.tokens(moe)
        let plain = try t.forward(tokens: ids, allLogits: true)
        // Four of eight resident, as many as a token uses: rerouting runs exactly the subset file
        // that keeps them. (With more resident than used, which four win depends on near-ties of
        // the router that float rounding decides, so the two would part ways after some layers.)
        let keep = (0..<config.layers).map { l in [0, 1, 2, 3].map { ($0 + 3 * l) % 8 }.sorted() }
        try ExpertSubset.writer(file, config, kept: keep).write(to: sub)
        let subset = try Transformer(path: sub, threads: 2).forward(tokens: ids, allLogits: true)
        let reroute = ExpertResidency(keep: keep, experts: 8, mode: .reroute)
        t.attach(reroute)
        t.reset()
        let rerouted = try t.forward(tokens: ids, allLogits: true)
        let range = Double(plain.max()! - plain.min()!)
        #expect(zip(rerouted, subset).map { Double(abs($0 - $1)) }.max()! / range <= 1e-4)
        // Paging: two resident, a cache of one expert per layer; the same numbers as no residency.
        let page = ExpertResidency(keep: keep.map { Array($0.prefix(2)) }, experts: 8, mode: .page(cacheExperts: config.layers))
        t.attach(page)
        t.reset()
        let paged = try t.forward(tokens: ids, allLogits: true)
        #expect(paged == plain)
        let s = page.stats
        #expect(s.resident + s.hits + s.misses == ids.count * config.layers * 4 && s.misses > 0 && s.hits > 0 && s.stallNanoseconds > 0)
        t.attach(nil)
    }

    @Test func whatASubsetRefusesSaysWhatWouldFit() throws {
        let moe = ReferenceTools.temp("smollm2-moe8u.gguf")
        defer { try? FileManager.default.removeItem(atPath: moe) }
        try Self.moefy(try ReferenceTools.smolLM2(), experts: 8, used: 8, router: .uniform, out: moe)
        let file = try GGUFFile(path: moe)
        let config = try ModelConfig(file)
        let sizes = ExpertSubset.Sizes(file, experts: 8)
        #expect(try sizes.keepable(within: sizes.otherBytes + 3 * sizes.bytesPerExpert + 1) == 3)
        #expect(try sizes.keepable(within: Int.max / 2) == 8)
        #expect(throws: ExpertSubset.Failure.self) { try sizes.keepable(within: sizes.otherBytes + sizes.bytesPerExpert - 1) }
        do { _ = try sizes.keepable(within: 10_000_000) } catch {
            #expect(error.description.contains("smallest subset needs"), "\(error)")
        }
        #expect(throws: ExpertSubset.Failure.self) { try ExpertSubset.writer(file, config, kept: Array(repeating: Array(0..<9), count: config.layers)) }
        // A profile of another model (other routers) is refused, naming both.
        var other = ExpertProfile(model: "other.gguf", experts: 8, fingerprint: "0000000000000000", tokens: 1,
                                  layers: Array(repeating: Array(repeating: .init(chosen: 0, gateWeight: 0, saliency: 0), count: 8), count: config.layers))
        #expect(throws: ExpertProfile.Mismatch.self) { try other.check(against: file, layers: config.layers, experts: 8) }
        other.fingerprint = ExpertProfile.fingerprint(file)
        try other.check(against: file, layers: config.layers, experts: 8)
        // moefy refuses experts that do not divide the width, and a model that has experts already.
        let dense = try GGUFFile(path: try ReferenceTools.smolLM2())
        #expect(throws: MoEfication.Failure.self) { try MoEfication.check(try ModelConfig(dense), dense, .init(experts: 7, used: 2)) }
        #expect(throws: MoEfication.Failure.self) { try MoEfication.check(config, file, .init(experts: 4, used: 2)) }
    }
}
