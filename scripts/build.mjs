// Builds what we ship (dist/) and, with --tests, the test suites (build/test/), with esbuild.
// Bundles, not transpiled files: one file to load is what makes the preload start fast
// (docs/architecture.md, "Bundles").
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
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
  // The packages' ES module builds (their `module` field) before their CommonJS ones: esbuild
  // tree-shakes them and drops the CommonJS wrappers that each ran at load; the SDK bundle loses
  // nearly half its size and a fifth of its load time (docs/architecture.md, "Bundles").
  mainFields: ['module', 'main'],
};

// src/env only defines values: the configuration's schema (built with zod when its module loads),
// parsers, texts. Said to esbuild, a bundle that uses one helper from it (agent.cjs: isSecretName,
// printable) leaves the schema and zod out instead of building them again at every start.
const envDefinesOnly = {
  name: 'env-defines-only',
  setup(build) {
    const env = join(root, 'src', 'env') + sep;
    build.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, ({ path, resolveDir }) => {
      const file = resolve(resolveDir, path);
      return file.startsWith(env) ? { path: file, sideEffects: false } : undefined;
    });
  },
};

// What users run is minified (syntax and whitespace, less to compile at start); identifiers keep
// their names, so stack traces and the class names in messages stay readable.
const shipped = { ...common, minifySyntax: true, minifyWhitespace: true, plugins: [envDefinesOnly] };

rmSync(join(root, 'dist'), { recursive: true, force: true });

await Promise.all([
  build({
    ...shipped,
    entryPoints: { register: 'register.ts' },
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'dist',
  }),
  build({
    ...shipped,
    entryPoints: { register: 'register.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    outdir: 'dist',
  }),
  // The SDK, loaded by the preload only when telemetry is on; one copy for both preload formats.
  build({
    ...shipped,
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
    ...shipped,
    entryPoints: { index: 'src/index.ts' },
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    outdir: 'dist',
  }),
  build({
    ...shipped,
    entryPoints: { index: 'src/index.ts' },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    outdir: 'dist',
  }),
  build({
    ...shipped,
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
