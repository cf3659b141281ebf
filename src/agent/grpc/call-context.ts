/**
 * The context a call runs in: its parent with the call's span set. `trace.setSpan` would call the
 * parent's setValue, and the API's contexts copy their whole Map on every setValue: two objects and a
 * hash table per call on each side. A call context is one node on its parent instead. Any Context
 * works with the API (it is an interface), and contexts derived from a node are nodes too, up to a
 * depth beyond which they become the API's own contexts again, so that a lookup stays short.
 */
import { type Context, INVALID_SPAN_CONTEXT, type Span, trace } from '@opentelemetry/api';

/** Nodes above this many on a chain are copied into the API's contexts (see materialize). */
const MAX_DEPTH = 8;

class ContextNode implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
    readonly depth: number,
  ) {}

  getValue(key: symbol): unknown {
    // A loop, not recursion: a chain of nodes ends in a context of the API's.
    let node: Context = this;
    while (node instanceof ContextNode) {
      if (node.key === key) return node.value;
      node = node.parent;
    }
    return node.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    if (this.depth < MAX_DEPTH) return new ContextNode(this, key, value, this.depth + 1);
    return this.materialize().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    // An undefined value is what getValue returns for a key that is not set.
    return this.setValue(key, undefined);
  }

  /** The same values in the API's own contexts: the base the chain rests on, with each node's value set in order. */
  private materialize(): Context {
    const nodes: ContextNode[] = [];
    let base: Context = this;
    while (base instanceof ContextNode) {
      nodes.push(base);
      base = base.parent;
    }
    for (let index = nodes.length - 1; index >= 0; index--) {
      const node = nodes[index] as ContextNode;
      base = node.value === undefined ? base.deleteValue(node.key) : base.setValue(node.key, node.value);
    }
    return base;
  }
}

/** The API's key for the active span, read once by handing trace.setSpan a context that keeps it. */
const SPAN_KEY: symbol | undefined = (() => {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue(found) {
      key = found;
      return probe;
    },
    deleteValue: () => probe,
  };
  trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return key;
})();

/** `parent` with `span` as its active span: what trace.setSpan(parent, span) gives, in one node. */
export function contextWithSpan(parent: Context, span: Span): Context {
  if (SPAN_KEY === undefined) return trace.setSpan(parent, span);
  if (parent instanceof ContextNode) return parent.setValue(SPAN_KEY, span);
  return new ContextNode(parent, SPAN_KEY, span, 1);
}
