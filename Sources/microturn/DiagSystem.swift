import CMicroturnShims
import Foundation
import MicroturnCore

/// `microturn diag` on the board itself: temperature and throttling, power, memory, disk, clock,
/// and the unit systemd runs.
enum DiagSystem {
    static func checks(config: MicroturnConfig, unit: String) -> [DiagCheck] {
        [temperature(config.board), throttling(), memory(config.board), disk(config.link.directory), clock(), service(unit)]
    }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// /sys/class/thermal: the board's zone (board.thermal_zone), else the hottest.
    static func temperature(_ board: MicroturnConfig.Board) -> DiagCheck {
        let base = "/sys/class/thermal"
        let zones = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("thermal_zone") }.sorted()
        let readings: [(type: String, celsius: Double)] = zones.compactMap { z in
            guard let type = read("\(base)/\(z)/type"), let milli = read("\(base)/\(z)/temp").flatMap(Double.init) else { return nil }
            return (type, milli / 1000)
        }
        guard !readings.isEmpty else {
            return .skipped("system.temperature", "no thermal zone in /sys/class/thermal (a virtual machine, or no thermal driver)")
        }
        let chosen: (type: String, celsius: Double)
        if board.thermalZone.isEmpty {
            chosen = readings.max { $0.celsius < $1.celsius }!
        } else if let z = readings.first(where: { $0.type == board.thermalZone }) {
            chosen = z
        } else {
            return DiagCheck(name: "system.temperature", status: .warn,
                             summary: "no thermal zone '\(board.thermalZone)'; there are \(readings.map(\.type).joined(separator: ", "))",
                             hint: "set board.thermal_zone in the board profile to one of these")
        }
        let figures: [(key: String, value: Double)] = [("celsius", chosen.celsius), ("warn_celsius", board.thermalWarnC), ("critical_celsius", board.thermalCriticalC)]
        let said = String(format: "%@ at %.1f °C (throttles from %.0f °C, critical %.0f °C)", chosen.type, chosen.celsius, board.thermalWarnC, board.thermalCriticalC)
        if chosen.celsius >= board.thermalCriticalC {
            return .fail("system.temperature", said, hint: "the board is about to shut down: give it a heatsink or a fan, and air around it", figures)
        }
        if chosen.celsius >= board.thermalWarnC {
            return DiagCheck(name: "system.temperature", status: .warn, summary: said, numbers: figures,
                             hint: "the board is throttling (slower turns): improve its cooling")
        }
        return .pass("system.temperature", said, figures)
    }

    /// Throttling and under-voltage: `vcgencmd get_throttled` on a Raspberry Pi, else the
    /// rpi_volt hwmon alarm, else nothing to read.
    static func throttling() -> DiagCheck {
        if let out = try? Shell.run(["vcgencmd", "get_throttled"]), out.status == 0,
           let hex = out.text.split(separator: "=").last.flatMap({ UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "0x", with: ""), radix: 16) }) {
            // Bits (Raspberry Pi firmware): 0 under-voltage now, 1 ARM frequency capped now, 2 throttled now,
            // 3 soft temperature limit now; 16-19 the same since boot.
            let now = [(0, "under-voltage"), (1, "frequency capped"), (2, "throttled"), (3, "soft temperature limit")].filter { hex & (1 << $0.0) != 0 }.map(\.1)
            let since = [(16, "under-voltage"), (17, "frequency capped"), (18, "throttled"), (19, "soft temperature limit")].filter { hex & (1 << $0.0) != 0 }.map(\.1)
            let figures: [(key: String, value: Double)] = [("get_throttled", Double(hex))]
            if now.contains("under-voltage") || since.contains("under-voltage") {
                return .fail("system.throttling", "vcgencmd get_throttled=0x\(String(hex, radix: 16)): \((now + since.map { "\($0) since boot" }).joined(separator: ", "))",
                             hint: "under-voltage: use the board's official power supply (5 V 5 A for a Pi 5) and a short, thick cable", figures)
            }
            if !now.isEmpty || !since.isEmpty {
                return DiagCheck(name: "system.throttling", status: .warn, summary: "vcgencmd: \((now + since.map { "\($0) since boot" }).joined(separator: ", "))",
                                 numbers: figures, hint: "the board slowed down to stay cool: improve its cooling")
            }
            return .pass("system.throttling", "vcgencmd get_throttled=0x0: no throttling or under-voltage since boot", figures)
        }
        let hwmon = "/sys/class/hwmon"
        for h in (try? FileManager.default.contentsOfDirectory(atPath: hwmon)) ?? [] where read("\(hwmon)/\(h)/name") == "rpi_volt" {
            let alarm = read("\(hwmon)/\(h)/in0_lcrit_alarm") == "1"
            return alarm ? .fail("system.throttling", "the rpi_volt sensor reports under-voltage", hint: "use the board's official power supply and a short, thick cable")
                         : .pass("system.throttling", "the rpi_volt sensor reports no under-voltage")
        }
        return .skipped("system.throttling", "no vcgencmd and no under-voltage sensor on this board")
    }

    /// /proc/meminfo: what is available against what the unit may use.
    static func memory(_ board: MicroturnConfig.Board) -> DiagCheck {
        var kb: [String: Double] = [:]
        for line in (read("/proc/meminfo") ?? "").split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            if parts.count >= 2, let v = Double(parts[1]) { kb[String(parts[0])] = v }
        }
        guard let total = kb["MemTotal"], let available = kb["MemAvailable"] else {
            return .skipped("system.memory", "/proc/meminfo cannot be read")
        }
        let figures: [(key: String, value: Double)] = [("total_mb", total / 1024), ("available_mb", available / 1024), ("unit_max_mb", Double(board.memoryMaxMb))]
        let said = String(format: "%.0f MB available of %.0f MB", available / 1024, total / 1024)
        if board.memoryMaxMb > 0 && available / 1024 < Double(board.memoryMaxMb) / 4 {
            return DiagCheck(name: "system.memory", status: .warn, summary: said + " (the unit may use up to \(board.memoryMaxMb) MB)",
                             numbers: figures, hint: "other programs hold the memory: see `ps aux --sort=-rss | head`")
        }
        return .pass("system.memory", said, figures)
    }

    /// Free space where the device keeps its state (the link's outbox).
    static func disk(_ directory: String) -> DiagCheck {
        var path = directory.isEmpty ? "/" : directory
        while !FileManager.default.fileExists(atPath: path) && path != "/" { path = (path as NSString).deletingLastPathComponent }
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return .skipped("system.disk", "cannot stat \(path)") }
        let freeMb = Double(s.f_bavail) * Double(s.f_frsize) / 1_048_576
        let figures: [(key: String, value: Double)] = [("free_mb", freeMb)]
        let said = String(format: "%.0f MB free on %@", freeMb, path)
        if freeMb < 10 { return .fail("system.disk", said, hint: "the outbox cannot keep requests: free space (journalctl --vacuum-size=50M, old logs)", figures) }
        if freeMb < 100 { return DiagCheck(name: "system.disk", status: .warn, summary: said, numbers: figures, hint: "free some space before it runs out") }
        return .pass("system.disk", said, figures)
    }

    /// The kernel's view of the clock (adjtimex): TLS certificates need the right time.
    static func clock() -> DiagCheck {
        var maxError = 0
        let state = mt_clock_synchronised(&maxError)
        let maxErrorMs = Double(maxError) / 1000
        let figures: [(key: String, value: Double)] = [("max_error_ms", maxErrorMs)]
        if state < 0 { return .skipped("system.clock", "adjtimex is not allowed here") }
        if state == 0 {
            return DiagCheck(name: "system.clock", status: .warn, summary: "the clock is not synchronised (\(Date()))", numbers: figures,
                             hint: "enable time sync (timedatectl set-ntp true) or give the board an RTC: a wrong clock makes the link's certificates invalid")
        }
        return .pass("system.clock", String(format: "synchronised, estimated error %.1f ms", maxErrorMs), figures)
    }

    /// The unit's state and watchdog, from systemctl where systemd runs.
    static func service(_ unit: String) -> DiagCheck {
        guard FileManager.default.fileExists(atPath: "/run/systemd/system") else {
            return .skipped("system.unit", "systemd is not running here")
        }
        guard let out = try? Shell.run(["systemctl", "show", unit, "-p", "LoadState,ActiveState,SubState,NRestarts,WatchdogUSec,StatusText"]), out.status == 0 else {
            return .skipped("system.unit", "systemctl show \(unit) did not answer")
        }
        var p: [String: String] = [:]
        for line in out.text.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { p[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        let restarts = Double(p["NRestarts"] ?? "") ?? 0
        let watchdog = p["WatchdogUSec"].map { $0 != "0" && $0 != "infinity" && !$0.isEmpty } ?? false
        let figures: [(key: String, value: Double)] = [("restarts", restarts), ("watchdog_armed", watchdog ? 1 : 0)]
        let said = "\(unit) \(p["ActiveState"] ?? "?") (\(p["SubState"] ?? "?")), \(Int(restarts)) restart\(restarts == 1 ? "" : "s"), watchdog \(watchdog ? "armed (\(p["WatchdogUSec"]!))" : "off")\(p["StatusText"].map { $0.isEmpty ? "" : ": \($0)" } ?? "")"
        if p["LoadState"] == "not-found" {
            return DiagCheck(name: "system.unit", status: .warn, summary: "\(unit) is not installed", numbers: figures,
                             hint: "install the microturn package, or tools/install-rootfs.sh into the image")
        }
        if p["ActiveState"] == "failed" {
            return .fail("system.unit", said, hint: "journalctl -u \(unit) -n 50 tells why; `microturn diag --bundle` keeps it for support", figures)
        }
        if p["ActiveState"] != "active" || !watchdog || restarts > 0 {
            return DiagCheck(name: "system.unit", status: .warn, summary: said, numbers: figures,
                             hint: restarts > 0 ? "it restarted: journalctl -u \(unit) shows what stopped it" : "start it: systemctl enable --now \(unit)")
        }
        return .pass("system.unit", said, figures)
    }
}

/// A short command's output (its stderr merged), for the few outside tools diag asks.
enum Shell {
    static func run(_ arguments: [String]) throws -> (status: Int32, text: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
