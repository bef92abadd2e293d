import Foundation
import MicroturnLink
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// What the server counts, in Prometheus' text format (`GET /metrics` on `metrics.listen`).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let connections: Gauge
    let sessionsOpened: Counter
    let sessionsResumed: Counter
    let framesReceived: Counter
    let tasksStarted: Counter
    let tasksAnswered: Counter
    let taskDuration: DurationHistogram

    public init() {
        func name(_ subsystem: String, _ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "microturn", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
        }
        connections = registry.makeGauge(descriptor: name("link", "connections", "", "Device connections open now"))
        sessionsOpened = registry.makeCounter(descriptor: name("link", "sessions_opened", "total", "New link sessions"))
        sessionsResumed = registry.makeCounter(descriptor: name("link", "sessions_resumed", "total", "Sessions resumed after a reconnect"))
        framesReceived = registry.makeCounter(descriptor: name("link", "frames_received", "total", "Frames received from devices"))
        tasksStarted = registry.makeCounter(descriptor: name("tasks", "started", "total", "Tasks run (each device and task id once)"))
        tasksAnswered = registry.makeCounter(descriptor: name("tasks", "answered", "total", "Tasks answered"))
        taskDuration = registry.makeDurationHistogram(
            descriptor: name("tasks", "duration", "seconds", "Time from a task's start to its answer"),
            buckets: [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                      .seconds(2), .seconds(5), .seconds(10), .seconds(30)])
    }

    /// A link error sent to a device, or a device refused, by code.
    func error(_ code: Microturn_Link_V1_Error.Code) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "microturn", subsystem: "link", metricName: "errors", unitName: "total",
                                                              helpText: "Link errors sent, and devices refused, by code"),
                             labels: [("code", "\(code)")]).increment()
    }
    /// A reasoning backend's failure (retried or not), by backend kind and failure kind.
    func backendFailure(_ failure: BackendFailure) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "microturn", subsystem: "reasoning", metricName: "backend_failures",
                                                              unitName: "total", helpText: "Reasoning backend failures, by kind"),
                             labels: [("kind", failure.kind)]).increment()
    }

    /// A tool the model called, by name and whether it gave an error.
    func toolCall(_ name: String, failed: Bool) {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "microturn", subsystem: "reasoning", metricName: "tool_calls",
                                                              unitName: "total", helpText: "Tool calls, by tool and outcome"),
                             labels: [("tool", name), ("outcome", failed ? "error" : "ok")]).increment()
    }

    /// A task no backend answered (the device got the honest short answer).
    func unanswered() {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "microturn", subsystem: "reasoning", metricName: "unanswered",
                                                              unitName: "total", helpText: "Tasks no reasoning backend answered")).increment()
    }

    public func text() -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A small HTTP endpoint for the metrics: `GET /metrics`; anything else is 404.
public final class MetricsEndpoint: Sendable {
    private let channel: Channel
    public let port: Int

    public init(host: String, port: Int, metrics: ServerMetrics, group: EventLoopGroup) throws {
        channel = try HTTPListener.bind(host: host, port: port, group: group) { MetricsHandler(metrics: metrics) }
        self.port = channel.localAddress?.port ?? port
    }

    public func close() { try? channel.close().wait() }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ServerMetrics
    private var path = ""

    init(metrics: ServerMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            path = head.method == .GET ? head.uri : ""
        case .body:
            break
        case .end:
            let found = path == "/metrics"
            let body = found ? metrics.text() : "not found: try GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
