// The KV service: Get and Put as in go-plugin's examples/grpc, and Watch, which replays the stored
// keys under a prefix (in key order) and then follows new Puts until it has sent `count` events.

export function kvService(logger) {
  const store = new Map(); // key → { value, seq }
  const watchers = new Set();
  let seq = 0;

  return {
    Get(call, callback) {
      const entry = store.get(call.request.key);
      logger.info({ key: call.request.key, found: entry !== undefined }, 'get');
      callback(null, { value: entry?.value ?? Buffer.alloc(0) });
    },
    Put(call, callback) {
      const { key, value } = call.request;
      seq += 1;
      store.set(key, { value, seq });
      logger.info({ key, seq }, 'put');
      for (const watcher of watchers) watcher({ key, value, seq });
      callback(null, {});
    },
    Watch(call) {
      const { prefix, count } = call.request;
      logger.info({ prefix, count }, 'watch');
      let left = count;
      const send = (event) => {
        if (left <= 0 || !event.key.startsWith(prefix)) return;
        call.write({ key: event.key, value: event.value, seq: event.seq });
        left -= 1;
        if (left === 0) finish();
      };
      const finish = () => {
        watchers.delete(send);
        call.end();
      };
      call.on('cancelled', () => watchers.delete(send));
      if (left <= 0) return finish();
      for (const key of [...store.keys()].sort()) send({ key, ...store.get(key) });
      if (left > 0) watchers.add(send);
    },
  };
}
