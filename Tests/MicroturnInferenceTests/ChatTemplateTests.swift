import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// Chat templates recognised from the Jinja programs real models carry, what they write, and the
/// clear errors for what is refused.
@Suite(.ownThreads) struct ChatTemplateTests {
    static let smolLM2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    static let llama3 = "{{- bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
    static let mistral = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}"

    @Test func chatMLKeepsTheTemplatesOwnSystemMessage() throws {
        let t = try ChatTemplate(jinja: Self.smolLM2)
        #expect(t.family == .chatML)
        #expect(t.defaultSystem == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        #expect(t.render([ChatMessage(.user, "Hi")]) ==
                "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(t.render([ChatMessage(.system, "Be brief."), ChatMessage(.user, "Hi")], openReply: false) ==
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        #expect(t.endOfTurn == "<|im_end|>")
    }

    @Test func llama3() throws {
        let t = try ChatTemplate(jinja: Self.llama3)
        #expect(t.family == .llama3 && t.defaultSystem == nil)
        #expect(t.render([ChatMessage(.user, "Hi")]) ==
                "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func refusedTemplatesSayWhy() {
        #expect(throws: ChatTemplateError.self) { try ChatTemplate(jinja: Self.mistral) }
        do { _ = try ChatTemplate(jinja: Self.mistral) } catch {
            #expect(error.description.contains("[INST]") && error.description.contains("chatml"))
        }
        do { _ = try ChatTemplate(jinja: "{{ messages | tojson }}") } catch {
            #expect(error.description.contains("not one this engine recognises"))
        }
    }

    /// On the real model: a conversation that outgrows the window loses its oldest turns, one
    /// message alone too long is an error that says what fits, and the template's end of turn stops
    /// a reply.
    @Test func conversationsFitTheWindow() throws {
        let generator = try Generator(path: try ReferenceTools.smolLM2())
        let long = String(repeating: "squats and lunges and push-ups ", count: 40)
        var conversation = [ChatMessage(.system, "Coach.")]
        for i in 0..<6 { conversation += [ChatMessage(.user, "\(i) " + long), ChatMessage(.assistant, "Fine.")] }
        conversation.append(ChatMessage(.user, "And now?"))
        let ids = try generator.chatPrompt(conversation, budget: 64, window: 512)
        #expect(ids.count + 64 <= 512)
        let text = generator.tokenizer.decode(ids)
        #expect(text.contains("Coach.") && text.hasSuffix("And now?<|im_end|>\n<|im_start|>assistant\n") && !text.contains("0 squats"))
        #expect(throws: Generator.Failure.self) { try generator.chatPrompt([ChatMessage(.user, long + long)], budget: 64, window: 256) }
        do { _ = try generator.chatPrompt([ChatMessage(.user, long + long)], budget: 64, window: 256) } catch {
            #expect("\(error)".contains("does not fit the context window of 256"))
        }
        #expect(generator.stopTokens.contains(generator.tokenizer.encode("<|im_end|>")[0]))
        // A prompt longer than the window, given as tokens, is refused before any is read.
        var options = Generator.Options()
        options.contextWindow = 16
        #expect(throws: Generator.Failure.promptTooLong(tokens: 40, window: 16, budget: 256)) {
            try generator.generate(prompt: Array(repeating: 1, count: 40), options: options)
        }
    }

    /// Budget and cancellation end a reply where they say; a reply read again from the same
    /// prefix reads only the new tokens and says the same.
    @Test func budgetCancellationAndTheKeptCache() throws {
        let generator = try Generator(path: try ReferenceTools.smolLM2())
        let prompt = try generator.chatPrompt([ChatMessage(.user, "Count from one to twenty in words.")], budget: 8)
        var options = Generator.Options()
        options.budget = 8
        var pieces: [String] = []
        let first = try generator.generate(prompt: prompt, options: options) { pieces.append($0) }
        #expect(first.stop == .budget && first.tokens.count == 8 && pieces.joined() == first.text)
        let again = try generator.generate(prompt: prompt, options: options)
        #expect(again.tokens == first.tokens && again.promptTokensRead == 1)
        let cancel = Cancellation()
        let stopped = try generator.generate(prompt: prompt, options: options, cancel: cancel) { _ in cancel.cancel() }
        #expect(stopped.stop == .cancelled && stopped.tokens.count == 1)
        // Someone feeds the transformer other tokens between replies: the next reply reads its
        // prompt again rather than trust a prefix the cache no longer holds.
        generator.transformer.reset()
        _ = try generator.transformer.forward(tokens: Array(prompt.reversed()))
        let afterOthers = try generator.generate(prompt: prompt, options: options)
        #expect(afterOthers.tokens == first.tokens && afterOthers.promptTokensRead == prompt.count)
    }

    /// Tokenizer metadata that contradicts itself is refused with the key and what to do.
    @Test func inconsistentTokenizerMetadataIsAClearError() throws {
        func file(_ entries: [(String, GGUFValue)]) throws -> GGUFFile {
            var w = TestGGUF()
            w.entries = [("general.architecture", .string("llama")), ("tokenizer.ggml.model", .string("gpt2")),
                         ("tokenizer.ggml.tokens", .array([.string("a"), .string("b")])),
                         ("tokenizer.ggml.merges", .array([.string("a b")]))] + entries
            return try TestGGUF.parse(w.bytes())
        }
        #expect(throws: GGUFError.badMetadata(path: "test.gguf", key: "tokenizer.ggml.token_type",
                                              reason: "has 3 entries for 2 tokens; re-convert the model")) {
            try Tokenizer(file: file([("tokenizer.ggml.token_type", .array([.int(1, bits: 32), .int(1, bits: 32), .int(1, bits: 32)]))]))
        }
        #expect(throws: GGUFError.badMetadata(path: "test.gguf", key: "tokenizer.ggml.eos_token_id",
                                              reason: "token 7 is outside the vocabulary of 2 tokens; re-convert the model")) {
            try Tokenizer(file: file([("tokenizer.ggml.eos_token_id", .uint(7, bits: 32))]))
        }
        #expect(throws: GGUFError.self) { try Tokenizer(file: file([("tokenizer.ggml.pre", .string("no-such-family"))])) }
    }
}
