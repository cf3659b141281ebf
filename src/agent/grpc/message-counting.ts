/**
 * Messages per RPC for streams (old conventions only): grpc-js hands each received message to the
 * stream's push() and each sent one to its _write(). Those two methods are wrapped once per stream
 * class, the first time the agent meets an instance, so a call adds no closure and changes nothing
 * about how the stream flows (a 'data' listener would switch it to flowing mode).
 */
import type { RpcCall } from './call-telemetry.ts';

/** Where a stream keeps its call, for the wrapped methods and the agent's event listeners. */
export const RPC_CALL: unique symbol = Symbol('rpcplugin-telemetry.grpc.call');

export interface CallCarrier {
  [RPC_CALL]?: RpcCall;
}

const COUNTING: unique symbol = Symbol('rpcplugin-telemetry.grpc.counting');

type Push = ((this: CallCarrier, chunk: unknown, encoding?: unknown) => boolean) & { [COUNTING]?: true };
type Write = ((this: CallCarrier, chunk: unknown, encoding: unknown, callback: unknown) => void) & {
  [COUNTING]?: true;
};

const wrapped = new WeakSet<object>();

/** Counts the messages of every stream of this one's class from now on. */
export function countMessages(stream: object): void {
  const prototype = Object.getPrototypeOf(stream) as { push?: Push; _write?: Write } | null;
  if (prototype === null || wrapped.has(prototype)) return;
  wrapped.add(prototype);
  const push = prototype.push;
  if (typeof push === 'function' && !push[COUNTING]) {
    const countingPush: Push = function (chunk, encoding) {
      // push(null) ends the stream; it is no message.
      if (chunk !== null) {
        const call = this[RPC_CALL];
        if (call !== undefined) call.received++;
      }
      return push.call(this, chunk, encoding);
    };
    countingPush[COUNTING] = true;
    prototype.push = countingPush;
  }
  const write = prototype._write;
  if (typeof write === 'function' && !write[COUNTING]) {
    const countingWrite: Write = function (chunk, encoding, callback) {
      const call = this[RPC_CALL];
      if (call !== undefined) call.sent++;
      return write.call(this, chunk, encoding, callback);
    };
    countingWrite[COUNTING] = true;
    prototype._write = countingWrite;
  }
}
