/**
 * A real Prometheus server for the tests (Debian's `prometheus` package; `.ci/run` installs it): it
 * scrapes the given targets on loopback every second, keeps its data in a temporary directory, and
 * is asked through its HTTP API, the way a user's dashboards ask it.
 *
 * The binary is PROMETHEUS_BIN, else `prometheus` on the PATH, else /usr/bin/prometheus. A missing
 * binary fails the test with the line that installs it: a test that skipped would pass on a machine
 * that never ran it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { closedPort } from './otlp-receiver.ts';

/**
 * The setup line the README gives, and the message of a machine without Prometheus: it works as
 * root, where sudo is often absent, and as a user with sudo.
 */
export const PROMETHEUS_SETUP =
  'SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo); $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends prometheus';

/**
 * PROMETHEUS_BIN when it is set (a binary elsewhere: macOS, other distributions), and then only it:
 * a wrong PROMETHEUS_BIN is an error, not a silent fall back to another binary. Else `prometheus`
 * on the PATH, else /usr/bin/prometheus.
 */
export function prometheusBinary(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const chosen = env.PROMETHEUS_BIN;
  if (chosen !== undefined && chosen !== '') {
    if (isExecutable(chosen)) return chosen;
    throw new Error(
      `PROMETHEUS_BIN=${chosen} is not an executable file: set it to a prometheus (2.x or later) binary.`,
    );
  }
  const candidates = [
    ...(env.PATH ?? '').split(delimiter).map((dir) => (dir === '' ? undefined : join(dir, 'prometheus'))),
    '/usr/bin/prometheus',
  ];
  const found = candidates.find((candidate) => candidate !== undefined && isExecutable(candidate));
  if (found !== undefined) return found;
  throw new Error(
    `Prometheus is not installed: this test runs a real Prometheus server. Install it (Debian/Ubuntu, as .ci/run does) with\n  ${PROMETHEUS_SETUP}\nor set PROMETHEUS_BIN to a prometheus (2.x or later) binary.`,
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export interface ScrapeTarget {
  /** host:port of a /metrics endpoint. */
  readonly address: string;
  /** Labels Prometheus adds to every series of this target. */
  readonly labels: Readonly<Record<string, string>>;
}

/** One series of an instant query: its labels (`__name__` included) and its value. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export class PrometheusServer {
  private output = '';

  constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** http://127.0.0.1:<port> */
    readonly url: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.append(chunk));
  }

  private append(chunk: Buffer): void {
    // The last lines are what a failure needs; the server's log is otherwise long.
    this.output = (this.output + chunk.toString('utf8')).slice(-8_000);
  }

  /** The server's own log, for assertion messages. */
  log(): string {
    return this.output;
  }

  /** An instant query (PromQL) through /api/v1/query. */
  async query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`query ${promql} failed: ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** Polls `promql` until `done` accepts the samples; rejects after `timeoutMs` with the last answer. */
  async waitFor(promql: string, done: (samples: Sample[]) => boolean, timeoutMs = 20_000): Promise<Sample[]> {
    const deadline = Date.now() + timeoutMs;
    let samples: Sample[] = [];
    while (Date.now() < deadline) {
      samples = await this.query(promql);
      if (done(samples)) return samples;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${promql}; last answer: ${JSON.stringify(samples)}\nPrometheus log:\n${this.log()}`,
    );
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts Prometheus on a free loopback port, scraping `targets` every second, once it says it is ready. */
export async function startPrometheus(targets: readonly ScrapeTarget[]): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: plugins',
    '    static_configs:',
    ...targets.flatMap((target) => [
      `      - targets: [${JSON.stringify(target.address)}]`,
      `        labels: ${JSON.stringify(target.labels)}`,
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  const port = await closedPort();
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${server.url}/-/ready`)).ok) return server;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.close();
  throw new Error(`Prometheus (${binary}) did not become ready on ${server.url}:\n${server.log()}`);
}
