/**
 * The layout's rules (docs/architecture.md), checked on the import graph of src/: no cycles, data
 * flows one way (env knows nothing of the agent), and the preload bundle stays cheap (it reaches no
 * SDK code; only load-agent.ts loads dist/agent.cjs, at run time).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './support/runtimes.ts';

const SRC = join(REPO_ROOT, 'src');

/** Every module of src/ with the modules of src/ it imports (types included: a cycle of types is still a cycle). */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  const specifier = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const imports = [...text.matchAll(specifier)].map((match) =>
      relative(SRC, resolve(dirname(join(SRC, file)), match[1] as string)),
    );
    graph.set(file, imports);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Everything `entry` reaches through static imports. */
function reachable(graph: Map<string, string[]>, entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const node = stack.pop() as string;
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...(graph.get(node) ?? []));
  }
  return seen;
}

const graph = importGraph();

test('the import graph of src/ has no cycles', () => {
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `cycle: ${cycle?.join(' -> ')}`);
});

test('src/env imports nothing outside src/env (it is pure and comes first)', () => {
  for (const [file, imports] of graph) {
    if (!file.startsWith('env/')) continue;
    for (const imported of imports) {
      assert.ok(imported.startsWith('env/') || imported === 'version.ts', `${file} imports ${imported}`);
    }
  }
});

test('the preload and the public API reach no SDK code: only preload/, runtime/ and env/', () => {
  for (const entry of ['agent/preload/preload.ts', 'index.ts']) {
    for (const module of reachable(graph, entry)) {
      const allowed = ['agent/preload/', 'agent/runtime/', 'env/'].some((folder) => module.startsWith(folder));
      assert.ok(allowed || module === entry || module === 'version.ts', `${entry} reaches ${module}`);
    }
  }
});

test('instrumented areas do not reach into each other or into the lifecycle', () => {
  const areas = ['grpc', 'http', 'logs', 'process', 'plugin', 'host'];
  for (const [file, imports] of graph) {
    const area = areas.find((name) => file.startsWith(`agent/${name}/`));
    if (area === undefined) continue;
    for (const imported of imports) {
      const other: string | undefined = areas.find((name) => name !== area && imported.startsWith(`agent/${name}/`));
      assert.equal(other, undefined, `${file} imports ${imported}`);
      assert.ok(!imported.startsWith('agent/lifecycle/'), `${file} imports ${imported}`);
    }
  }
});

test('the viewer (src/viewer, `tail`) is reached from the CLI only, and reaches nothing of the agent or env', () => {
  for (const [file, imports] of graph) {
    const isViewer = file.startsWith('viewer/');
    for (const imported of imports) {
      if (imported.startsWith('viewer/')) {
        assert.ok(isViewer || file.startsWith('cli/'), `${file} imports ${imported}`);
      }
      if (isViewer) assert.ok(imported.startsWith('viewer/'), `${file} imports ${imported}`);
    }
  }
  for (const entry of ['agent/preload/preload.ts', 'agent/sdk/start.ts', 'index.ts']) {
    const viewer = [...reachable(graph, entry)].filter((module) => module.startsWith('viewer/'));
    assert.deepEqual(viewer, [], `${entry} reaches the viewer`);
  }
});
