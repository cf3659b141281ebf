// Builds what we ship (dist/) and, with --tests, the test suites (build/test/), with esbuild.
// Bundles, not transpiled files: one file to load is what makes the preload start fast
// (docs/architecture.md, "Bundles").
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const withTests = process.argv.includes('--tests');

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Everything the agent needs is bundled; node: builtins stay imports.
  packages: 'bundle',
  define: { __PACKAGE_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
  // The preload finds dist/agent.cjs from `__filename` (CommonJS) or `import.meta.url` (ESM); each
  // bundle evaluates only its own, so the other being empty is expected.
  logOverride: { 'empty-import-meta': 'silent' },
  sourcemap: 'linked',
};

rmSync(join(root, 'dist'), { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: { register: 'register.ts' },
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'dist',
  }),
  build({
    ...common,
    entryPoints: { register: 'register.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    outdir: 'dist',
  }),
  // The SDK, loaded by the preload only when telemetry is on; one copy for both preload formats.
  build({
    ...common,
    entryPoints: {
      agent: 'src/agent/sdk/start.ts',
      'agent-prometheus': 'src/agent/exporters/prometheus.ts',
      'agent-otlp-grpc': 'src/agent/exporters/otlp-grpc.ts',
      'agent-propagators': 'src/agent/propagation/b3-jaeger.ts',
    },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    outdir: 'dist',
  }),
  build({
    ...common,
    entryPoints: { index: 'src/index.ts' },
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'dist',
  }),
  build({
    ...common,
    entryPoints: { index: 'src/index.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    outdir: 'dist',
  }),
  build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  }),
]);

// The bin: npm sets the mode when it installs a package, but a rebuild in a checkout (npm run build,
// npm pack through prepack) writes a fresh file, which would leave `npx rpcplugin-telemetry` denied.
chmodSync(join(root, 'dist', 'cli.mjs'), 0o755);

// Type declarations of the public API, for TypeScript users of `rpcplugin-telemetry`.
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});

if (withTests) {
  rmSync(join(root, 'build'), { recursive: true, force: true });
  const suites = readdirSync(join(root, 'test'), { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => join('test', file));
  await build({
    ...common,
    entryPoints: suites,
    outbase: 'test',
    outdir: 'build/test',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    // Tests import the packages they exercise (fast-check, zod…) from node_modules.
    packages: 'external',
    sourcemap: 'inline',
  });
}
