import NIOCore

/// Lets a connection read up to 1 MiB a time from its socket (NIO's default stops at
/// 64 KiB): a large upload then reaches the object store in a few large buffers, with fewer
/// system calls and hand-offs between threads. Removes itself once it has set the option.
final class LargeReads: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(
            ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 1 << 20))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
