import NIOCore
import NIOHTTP1

/// Answers `Expect: 100-continue` with `100 Continue`, so a client that waits for it before
/// sending a body (swiftclient, tempest's object tests, curl for large uploads) sends it.
/// Hummingbird does not; the interim answer is written below its HTTP types codec, right
/// after NIO's request decoder (NIO's response encoder frames informational heads), where
/// this handler places its worker when it is added.
final class ExpectContinue: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        if let decoder = try? operations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? operations.addHandler(Worker(), position: .after(decoder.handler))
        }
    }

    final class Worker: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias InboundOut = HTTPServerRequestPart
        typealias OutboundIn = HTTPServerResponsePart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data),
                head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" })
            {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))))
                    .whenComplete { _ in }
            }
            context.fireChannelRead(data)
        }
    }
}
