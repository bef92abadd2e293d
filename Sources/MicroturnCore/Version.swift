/// Microturn's version: `--version` of both binaries, HELLO and WELCOME's `software`, the .debs,
/// `microturn diag`. Raised with each release an integrator may flash.
public enum MicroturnVersion {
    public static let string = "0.15.0"
}
