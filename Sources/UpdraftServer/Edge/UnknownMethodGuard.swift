import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// Answers a request whose method the HTTP parser does not know (`FOO /identity/v3`) with
/// 405, an `Allow` header and the fault body of the API the path belongs to, where the
/// parser alone would send an empty 400. The parser stops at the method, so the path is
/// read from the raw bytes a ``RawRequestTap`` at the front of the pipeline keeps.
final class UnknownMethodGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    /// Headers and body of the 405 for a request path.
    let answer: @Sendable (_ path: String) -> (HTTPFields, [UInt8])
    private let tap = RawRequestTap()

    init(answer: @escaping @Sendable (_ path: String) -> (HTTPFields, [UInt8])) {
        self.answer = answer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(tap, position: .first)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .invalidMethod else {
            context.fireErrorCaught(error)
            return
        }
        let (fields, body) = answer(tap.lastRequestPath() ?? "/")
        var head = "HTTP/1.1 405 Method Not Allowed\r\n"
        for field in fields { head += "\(field.name): \(field.value)\r\n" }
        head += "Allow: GET, HEAD, POST, PUT, PATCH, DELETE\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        tap.writeAndClose(Array(head.utf8) + body)
    }
}

/// Keeps the start of the latest bytes a connection received, and writes raw bytes below
/// the HTTP codecs.
final class RawRequestTap: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The latest bytes received, held by reference (no copy per read); read only on a parser error.
    private var recent: ByteBuffer?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        recent = unwrapInboundIn(data)
        context.fireChannelRead(data)
    }

    /// The path of the last request line in the latest bytes (`FOO /compute/v2.1 HTTP/1.1`).
    func lastRequestPath() -> String? {
        guard let recent else { return nil }
        let bytes = recent.getBytes(at: recent.readerIndex, length: min(recent.readableBytes, 8192)) ?? []
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n").reversed() {
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") {
                return String(parts[1].split(separator: "?", maxSplits: 1).first ?? parts[1])
            }
        }
        return nil
    }

    func writeAndClose(_ bytes: [UInt8]) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
