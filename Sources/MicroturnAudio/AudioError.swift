/// What can go wrong with audio devices and files, each with what to do about it.
public enum AudioError: Error, Sendable, CustomStringConvertible {
    /// An ALSA call failed. `device` is the PCM name, `call` the operation.
    case alsa(device: String, call: String, code: Int32, message: String)
    case noUsableFormat(device: String, tried: [String])
    case badWav(path: String, reason: String)
    case fileIO(path: String, reason: String)
    case speech(reason: String)
    case dsp(reason: String)

    public var description: String {
        switch self {
        case let .alsa(device, call, code, message):
            var hint = "check that the device exists (aplay -L / arecord -L), that no other program holds it, and that this user may open it (group audio)"
            if code == -16 { hint = "the device is busy: stop the other program that holds it" }
            if code == -2 || code == -19 { hint = "the device is not there: check audio.capture_device / audio.playback_device and that the card is plugged in (arecord -l)" }
            if code == -13 { hint = "permission denied: add this user to group 'audio' or allow char-alsa in the service's DeviceAllow" }
            return "ALSA device '\(device)': \(call) failed (\(code): \(message)); \(hint)"
        case let .noUsableFormat(device, tried):
            return "ALSA device '\(device)' accepts none of the formats \(tried.joined(separator: ", ")); set audio.formats to one the device supports"
        case let .badWav(path, reason):
            return "\(path) is not a usable WAV file: \(reason). Give a PCM WAV file (16/24/32-bit integer or 32-bit float)"
        case let .fileIO(path, reason):
            return "\(path): \(reason)"
        case let .speech(reason):
            return "speech synthesis: \(reason). Check that espeak-ng-data is installed (apt-get install espeak-ng-data)"
        case let .dsp(reason):
            return "signal processing: \(reason)"
        }
    }
}
