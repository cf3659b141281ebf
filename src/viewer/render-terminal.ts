/**
 * Draws what the viewer received for a person at a terminal: each trace as a tree, one line per
 * span (service, name, kind, a bar on the trace's time axis, duration, status and the attributes
 * that matter), the span's log records under it, and a metrics summary per export. Colour only
 * when asked for (the command asks when stdout is a TTY and NO_COLOR is unset); every line fits
 * `width` columns.
 */
import { styleText } from 'node:util';
import {
  formatBytes,
  formatDuration,
  formatMs,
  formatValue,
  kindName,
  notableAttributes,
  spanDurationNanos,
} from './format.ts';
import type { MetricsDigest } from './metrics-digest.ts';
import { type AssembledTrace, logTime, type SpanNode, serviceOf } from './model.ts';
import type { LogRecord } from './otlp-types.ts';

export interface TerminalOptions {
  /** Columns available; lines are cut to fit. */
  width: number;
  color: boolean;
}

type Style = Parameters<typeof styleText>[0];

// Node 22.13+ also checks the stream and the environment unless told not to; the command has decided already.
const paint = styleText as (format: Style, text: string, options?: { validateStream?: boolean }) => string;

/** A piece of a line: its text (no escape codes) and how to colour it. */
interface Piece {
  text: string;
  style?: Style;
}

const SERVICE_COLOURS: Style[] = ['cyan', 'magenta', 'yellow', 'blue', 'green'];

function serviceColour(service: string): Style {
  let hash = 0;
  for (const char of service) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return SERVICE_COLOURS[hash % SERVICE_COLOURS.length] as Style;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from the wire as it may reach a terminal: control characters (an escape sequence in a span
 * name, a newline in a log message) shown as `\xNN`, so a record stays on its line and cannot
 * drive the terminal.
 */
function printable(text: string): string {
  return text.replace(CONTROL, (char) => `\\x${(char.codePointAt(0) ?? 0).toString(16).padStart(2, '0')}`);
}

/** Joins pieces into a line of at most `width` columns, cutting the last visible piece with '…'. */
function line(pieces: readonly Piece[], options: TerminalOptions): string {
  let out = '';
  let left = options.width;
  for (const piece of pieces) {
    if (left <= 0) break;
    let text = printable(piece.text);
    const chars = [...text];
    if (chars.length > left) text = `${chars.slice(0, Math.max(0, left - 1)).join('')}…`;
    left -= Math.min(chars.length, left);
    out +=
      options.color && piece.style !== undefined && text !== ''
        ? paint(piece.style, text, { validateStream: false })
        : text;
  }
  return out.trimEnd();
}

/** `text` in exactly `width` columns: padded, or cut with '…'. */
const pad = (text: string, width: number) => {
  const chars = [...printable(text)];
  if (chars.length <= width) return chars.join('') + ' '.repeat(width - chars.length);
  return width <= 0 ? '' : `${chars.slice(0, width - 1).join('')}…`;
};
const padStart = (text: string, width: number) => ' '.repeat(Math.max(0, width - [...text].length)) + text;

interface Row {
  node: SpanNode;
  /** Tree glyphs before the name. */
  prefix: string;
  /** Glyphs that continue the tree on the lines under this span (its logs). */
  under: string;
}

function rows(roots: readonly SpanNode[], prefix = '', top = true): Row[] {
  const out: Row[] = [];
  roots.forEach((node, i) => {
    const last = i === roots.length - 1;
    const glyph = top ? '' : last ? '└─ ' : '├─ ';
    const continuation = top ? '' : last ? '   ' : '│  ';
    out.push({ node, prefix: prefix + glyph, under: prefix + continuation + (node.children.length > 0 ? '│ ' : '  ') });
    out.push(...rows(node.children, prefix + continuation, false));
  });
  return out;
}

/** The bar of one span on the trace's time axis, `width` characters wide. */
function bar(start: bigint, end: bigint, traceStart: bigint, traceEnd: bigint, width: number): string {
  const total = Number(traceEnd - traceStart);
  if (total <= 0) return '█'.repeat(width);
  const from = Math.min(width - 1, Math.floor((Number(start - traceStart) / total) * width));
  const to = Math.max(from + 1, Math.min(width, Math.ceil((Number(end - traceStart) / total) * width)));
  return ' '.repeat(from) + '█'.repeat(to - from) + ' '.repeat(width - to);
}

function severity(record: LogRecord): string {
  if (record.severityText !== '') return record.severityText.toUpperCase();
  const n = record.severityNumber;
  return n === 0 ? 'LOG' : (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][Math.floor((n - 1) / 4)] ?? 'LOG');
}

function severityStyle(record: LogRecord): Style | undefined {
  return record.severityNumber >= 17 ? 'red' : record.severityNumber >= 13 ? 'yellow' : undefined;
}

const HIDDEN_LOG_ATTRIBUTES = new Set(['trace_id', 'span_id', 'trace_flags']);

function logText(record: LogRecord): string {
  const attributes = Object.entries(record.attributes)
    .filter(([key]) => !HIDDEN_LOG_ATTRIBUTES.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [record.body === null ? '' : formatValue(record.body), ...attributes].filter((part) => part !== '').join('  ');
}

function logPieces(record: LogRecord, indent: string, offset: string): Piece[] {
  const level = severity(record);
  const style = severityStyle(record);
  return [
    { text: indent, style: 'dim' },
    { text: `${offset} `, style: 'dim' },
    style === undefined ? { text: `${pad(level, 5)} ` } : { text: `${pad(level, 5)} `, style },
    { text: logText(record) },
  ];
}

const offsetText = (time: bigint, traceStart: bigint) =>
  `+${formatDuration(time > traceStart ? time - traceStart : 0n)}`;

/** A whole trace: a header line, one line per span, the log records under their spans. */
export function renderTrace(trace: AssembledTrace, options: TerminalOptions): string {
  const { width } = options;
  const all = rows(trace.roots);
  const duration = trace.endTimeUnixNano - trace.startTimeUnixNano;
  const header = [
    `trace ${trace.traceId}${trace.shownBefore > 0 ? ' (updated: late arrivals)' : ''}`,
    `${trace.spanCount} span${trace.spanCount === 1 ? '' : 's'}`,
    trace.services.join(', '),
    formatDuration(duration > 0n ? duration : 0n),
    ...(trace.droppedSpans > 0 ? [`${trace.droppedSpans} spans dropped (per-trace limit)`] : []),
    ...(trace.droppedLogs > 0 ? [`${trace.droppedLogs} log records dropped (per-trace limit)`] : []),
  ].join(' · ');
  const title = `── ${header} `;
  const rule = '─'.repeat(Math.max(0, width - [...title].length));
  const out = [
    line(
      [
        { text: title, style: 'bold' },
        { text: rule, style: 'dim' },
      ],
      options,
    ),
  ];

  const nameWidth = Math.min(
    Math.max(
      ...all.map(
        ({ prefix, node }) => [...prefix].length + [...printable(node.span.name)].length + (node.parentMissing ? 2 : 0),
      ),
      4,
    ),
    Math.max(16, Math.floor(width * 0.4)),
  );
  const serviceWidth = Math.min(Math.max(...all.map(({ node }) => serviceOf(node.span).length), 7), 20);
  const barWidth = Math.max(10, Math.min(40, Math.floor(width * 0.22)));
  for (const { node, prefix, under } of all) {
    const { span } = node;
    const service = serviceOf(span);
    const colour = serviceColour(service);
    const name = `${node.parentMissing ? '↑ ' : ''}${span.name}`;
    const attributes = notableAttributes(span);
    const isError = span.status.code === 2;
    out.push(
      line(
        [
          { text: prefix, style: 'dim' },
          {
            text: pad(name, Math.max(0, nameWidth - [...prefix].length)),
            ...(isError ? { style: 'red' as Style } : {}),
          },
          { text: ' ' },
          { text: pad(service, serviceWidth), style: colour },
          { text: ' ' },
          { text: pad(kindName(span.kind), 8), style: 'dim' },
          { text: ' │', style: 'dim' },
          {
            text: bar(
              span.startTimeUnixNano,
              span.endTimeUnixNano,
              trace.startTimeUnixNano,
              trace.endTimeUnixNano,
              barWidth,
            ),
            style: isError ? 'red' : colour,
          },
          { text: '│ ', style: 'dim' },
          { text: padStart(formatDuration(spanDurationNanos(span)), 8), style: 'bold' },
          { text: ' ' },
          ...(isError ? [{ text: 'ERROR ', style: 'red' as Style }] : []),
          { text: attributes.join(' '), style: 'dim' },
        ],
        options,
      ),
    );
    for (const record of node.logs) {
      out.push(line(logPieces(record, `${under}  `, offsetText(logTime(record), trace.startTimeUnixNano)), options));
    }
  }
  if (trace.logs.length > 0) {
    out.push(line([{ text: `  log records of this trace whose span was not received:`, style: 'dim' }], options));
    for (const record of trace.logs) {
      out.push(
        line(
          [
            ...logPieces(record, '  ', offsetText(logTime(record), trace.startTimeUnixNano)),
            { text: `  (${serviceOf(record)}, span ${record.spanId || 'none'})`, style: 'dim' },
          ],
          options,
        ),
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** A log record made outside any span, on a line of its own. */
export function renderLog(record: LogRecord, options: TerminalOptions): string {
  const time = new Date(Number(logTime(record) / 1_000_000n)).toISOString().slice(11, 23);
  const service = serviceOf(record);
  return `${line([{ text: 'log ', style: 'dim' }, { text: `${pad(service, Math.max(10, service.length))} `, style: serviceColour(service) }, ...logPieces(record, '', time)], options)}\n`;
}

/** One block per service of a metrics export: memory and event loop, then a line per RPC method. */
export function renderMetrics(digests: readonly MetricsDigest[], options: TerminalOptions): string {
  const out: string[] = [];
  for (const digest of digests) {
    if (digest.rpc.length === 0 && digest.memoryBytes === undefined && digest.eventLoopDelayP99Ms === undefined)
      continue;
    const facts = [
      ...(digest.memoryBytes === undefined ? [] : [`memory ${formatBytes(digest.memoryBytes)}`]),
      ...(digest.eventLoopDelayP99Ms === undefined
        ? []
        : [`event-loop delay p99 ${formatMs(digest.eventLoopDelayP99Ms)}`]),
    ];
    out.push(
      line(
        [
          { text: 'metrics ', style: 'bold' },
          { text: digest.service, style: serviceColour(digest.service) },
          { text: facts.length > 0 ? `  ${facts.join('  ')}` : '' },
        ],
        options,
      ),
    );
    const methodWidth = Math.min(
      Math.max(...digest.rpc.map((rpc) => rpc.method.length), 6),
      Math.floor(options.width * 0.4),
    );
    for (const rpc of digest.rpc) {
      const figures = [
        `${rpc.count} call${rpc.count === 1 ? '' : 's'}`,
        ...(rpc.rate === undefined ? [] : [`${rpc.rate < 10 ? rpc.rate.toFixed(2) : rpc.rate.toFixed(0)}/s`]),
        ...(['p50', 'p95', 'p99'] as const).flatMap((q) => (rpc[q] === undefined ? [] : [`${q} ${formatMs(rpc[q])}`])),
      ];
      out.push(
        line(
          [
            { text: `  ${pad(rpc.side, 6)} `, style: 'dim' },
            { text: `${pad(rpc.method, methodWidth)}  ` },
            { text: figures.join('  ') },
          ],
          options,
        ),
      );
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** A line about the viewer itself (listening, evictions, stopping). */
export function renderNotice(text: string, options: TerminalOptions): string {
  return `${line([{ text, style: 'dim' }], options)}\n`;
}
