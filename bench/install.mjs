// What a production install of the agent weighs, against contrib's preload.
//
//   npm run build && node bench/install.mjs [--quick] [--results FILE]
//
// Ours: `npm pack` of this checkout (the dist/ just built; --ignore-scripts, so packing does not
// rebuild), then `npm install --omit=dev <tarball>` in an empty project. Contrib:
// `npm install --omit=dev @opentelemetry/auto-instrumentations-node@<our devDependency's version>` in
// another. Both from the npm registry (the peer @opentelemetry/api comes with each), into a fresh
// cache each. Reported: node_modules on disk (allocated blocks, as `du` counts them, in MB of 10^6
// bytes) and the number of packages in it (node_modules/.package-lock.json). Issue 11's target for
// ours: at most 10 MB and 10 packages. Bare installs nothing. --quick changes nothing (one install
// each is the whole benchmark) and is accepted so that `npm run bench -- --quick` runs it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { diskUsage, measuredOn, report } from './measure.mjs';
import { CONTRIB_VERSION, ROOT } from './support.mjs';

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Taken and unused (it installs once, with npm): so that \`npm run bench -- --runtimes node24\`,
    // which gives the options to every benchmark, runs this one too.
    runtimes: { type: 'string' },
    rounds: { type: 'string' },
    results: { type: 'string' },
  },
});
const CONTRIB_PACKAGE = '@opentelemetry/auto-instrumentations-node';

const TARGET = { megabytes: 10, packages: 10 };

function npm(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`npm ${args.join(' ')} failed (${code}):\n${err}`)),
    );
  });
}

/** Installs `spec` for production into an empty project; resolves to its node_modules' size and package count. */
async function install(workspace, name, spec) {
  const dir = join(workspace, name);
  const cache = join(workspace, `${name}-cache`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, private: true }, null, 2)}\n`);
  await npm(['install', '--omit=dev', '--no-audit', '--no-fund', '--cache', cache, spec], dir);
  const modules = join(dir, 'node_modules');
  const lock = JSON.parse(readFileSync(join(modules, '.package-lock.json'), 'utf8'));
  const packages = Object.keys(lock.packages).filter((path) => path.startsWith('node_modules/'));
  return { megabytes: diskUsage(modules) / 1e6, packages: packages.length };
}

const workspace = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-bench-install-'));
try {
  const [packed] = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', workspace], ROOT));
  process.stderr.write(
    `packed ${packed.filename}: ${(packed.size / 1e6).toFixed(2)} MB, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${packed.entryCount} files\n`,
  );
  const ours = await install(workspace, 'ours', join(workspace, packed.filename));
  process.stderr.write(`ours: ${ours.megabytes.toFixed(1)} MB, ${ours.packages} packages\n`);
  const contrib = await install(workspace, 'contrib', `${CONTRIB_PACKAGE}@${CONTRIB_VERSION}`);
  process.stderr.write(`contrib: ${contrib.megabytes.toFixed(1)} MB, ${contrib.packages} packages\n`);

  const met = ours.megabytes <= TARGET.megabytes && ours.packages <= TARGET.packages;
  const markdown = [
    '### Install size',
    '',
    `${measuredOn(options.quick)} A production install (\`npm install --omit=dev\`) into an empty project: ours from \`npm pack\` of this tree (${(packed.size / 1e6).toFixed(2)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${packed.entryCount} files, no source maps), contrib's \`${CONTRIB_PACKAGE}@${CONTRIB_VERSION}\` from the npm registry; each with the peer \`@opentelemetry/api\` that npm adds. Size is \`node_modules\` on disk (allocated blocks, as \`du\` counts them; MB = 10^6 bytes). Bare installs nothing. Target for ours: at most ${TARGET.megabytes} MB and ${TARGET.packages} packages.`,
    '',
    '| | ours | contrib |',
    '|---|---:|---:|',
    `| \`node_modules\` on disk | ${ours.megabytes.toFixed(1)} MB | ${contrib.megabytes.toFixed(1)} MB |`,
    `| packages | ${ours.packages} | ${contrib.packages} |`,
    '',
    `Target: ${met ? 'met' : 'not met'}.`,
    '',
  ].join('\n');
  report(options.results, markdown);
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
