// libFuzzer harness for the WAV reader (built by tools/fuzz.sh with WavFile.swift and what it
// needs): any bytes give an AudioError or samples in [-1, 1] whose count is a whole number of frames.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWAV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let wav = try? WavFile.parse(Data(bytes: data, count: size), path: "fuzz.wav") else { return 0 }
    precondition(wav.samples.count % wav.channels == 0 && wav.samples.allSatisfy { abs($0) <= 1 })
    _ = wav.mono()
    return 0
}
