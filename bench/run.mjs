// `npm run bench [-- <name>…] [options]`: runs the end-to-end benchmarks one after the other and
// records their results in docs/benchmarks.md. Without names: startup, install, grpc, http,
// collector-down; `soak` runs only when named. Options after the names go to each benchmark, and
// `--quick` (few rounds, short durations) makes each check its plumbing rather than measure.
//
// Each benchmark gets `--results <tmpdir>/<name>.json` and writes there its section of
// docs/benchmarks.md, as Markdown, and any files it generates (the chart). This script then puts
// each section between its markers, `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`
// (only the sections of the benchmarks that ran), writes the files, and rewrites the header block
// (`<!-- bench:header:… -->`: date, machine, runtime versions, command). Text outside the markers
// is hand-written and stays. bench/README.md describes the protocol.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { CONTRIB_VERSION, machineLine, ROOT, runtimeCommands, runtimeVersion } from './support.mjs';

/** In the order they run; `soak` only when named. */
const BENCHMARKS = ['startup', 'install', 'grpc', 'http', 'collector-down', 'soak'];
const BY_DEFAULT = BENCHMARKS.filter((name) => name !== 'soak');
const DOC = join(ROOT, 'docs', 'benchmarks.md');

const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith('-'));
const names = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const unknown = names.find((name) => !BENCHMARKS.includes(name));
if (unknown !== undefined) {
  process.stderr.write(`bench: unknown benchmark ${unknown}; the benchmarks are ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}

const markers = (name) => [`<!-- bench:${name}:start -->`, `<!-- bench:${name}:end -->`];

/** `doc` with the text between NAME's markers replaced; a section without markers goes after the last benchmark's section. */
function replaceSection(doc, name, text) {
  const [start, end] = markers(name);
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from !== -1 && to > from) return `${doc.slice(0, from + start.length)}\n${text.trim()}\n${doc.slice(to)}`;
  const lastEnd = Math.max(...BENCHMARKS.map((other) => doc.indexOf(markers(other)[1])));
  const block = `${start}\n${text.trim()}\n${end}`;
  process.stderr.write(`bench: docs/benchmarks.md had no markers for ${name}; its section was added\n`);
  if (lastEnd === -1) return `${doc.trimEnd()}\n\n${block}\n`;
  const after = doc.indexOf('\n', lastEnd);
  return `${doc.slice(0, after)}\n\n${block}${doc.slice(after)}`;
}

/** The header block: when, where, on what, and with which command the sections below were measured. */
async function header(ran, started, load) {
  const commands = runtimeCommands('');
  const versions = [];
  for (const [runtime, { command }] of Object.entries(commands)) {
    versions.push(`${runtime} ${(await runtimeVersion(command)).replace(/^v/, '')}`);
  }
  const grpcJs = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@grpc/grpc-js/package.json'), 'utf8'));
  const quick = options.includes('--quick');
  return [
    `**Last run:** ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}\`, which updated: ${ran.join(', ')}. A section this run did not update states its own date.`,
    ...(quick
      ? [
          '',
          '> **A `--quick` run:** it checks the plumbing, with few rounds and short durations. Its figures are not measurements; do not quote them.',
        ]
      : []),
    '',
    `- **Machine:** ${machineLine().replace(/^machine: /, '')}; load average ${load.toFixed(1)} when the run started.`,
    `- **Runtimes:** ${versions.join(', ')}.`,
    `- **Packages:** @grpc/grpc-js ${grpcJs.version}; contrib: @opentelemetry/auto-instrumentations-node ${CONTRIB_VERSION}.`,
  ].join('\n');
}

const started = new Date();
const load = loadavg()[0];
const work = mkdtempSync(join(tmpdir(), 'rpcplugin-bench-'));
const ran = [];
const failed = [];
const missing = [];
let doc = readFileSync(DOC, 'utf8');
for (const name of names.length > 0 ? names : BY_DEFAULT) {
  const script = join(ROOT, 'bench', `${name}.mjs`);
  if (!existsSync(script)) {
    // The benchmarks are written by several people; one not written yet must not stop the others.
    process.stderr.write(`bench: ${name}: bench/${name}.mjs does not exist (yet), so ${name} was not run\n`);
    missing.push(name);
    continue;
  }
  const results = join(work, `${name}.json`);
  process.stderr.write(`bench: ${name} (bench/${name}.mjs ${options.join(' ')})\n`);
  const { status, signal } = spawnSync(process.execPath, [script, ...options, '--results', results], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  if (status !== 0 || !existsSync(results)) {
    process.stderr.write(`bench: ${name} failed (${signal ?? `exit code ${status}`}); its section is left as it was\n`);
    failed.push(name);
    continue;
  }
  const { markdown, files = {} } = JSON.parse(readFileSync(results, 'utf8'));
  if (typeof markdown !== 'string' || !markdown.startsWith('### ')) {
    process.stderr.write(`bench: ${name} wrote no section starting with "### " to ${results}; left as it was\n`);
    failed.push(name);
    continue;
  }
  doc = replaceSection(doc, name, markdown);
  for (const [path, text] of Object.entries(files)) {
    const target = resolve(ROOT, path);
    if (relative(ROOT, target).startsWith('..'))
      throw new Error(`bench: ${name} wants to write ${path}, outside the repository`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  ran.push(name);
}
rmSync(work, { recursive: true, force: true });

if (ran.length > 0) {
  doc = replaceSection(doc, 'header', await header(ran, started, load));
  writeFileSync(DOC, doc);
  process.stderr.write(`bench: docs/benchmarks.md updated: ${ran.join(', ')}\n`);
}
if (missing.length > 0) process.stderr.write(`bench: not run, no script: ${missing.join(', ')}\n`);
if (failed.length > 0) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
if (ran.length === 0) process.exit(1);
