/** docs/configuration.md, generated from the variable declarations (`npm run docs`). */
import { describeProblem, QUOTED_VALUE_LIMIT, REPORT_LIMIT, STRICT_EXIT_CODE } from './problems.ts';
import { GROUPS } from './variable-definition.ts';
import { definitionOf, VARIABLE_NAMES } from './variables.ts';

const INTRO = `# Configuration reference

<!-- Generated from src/env/variables.ts by \`npm run docs\`. Do not edit by hand: a test fails when it is stale. -->

The agent reads its configuration from environment variables only, once, before the application's
first line. \`rpcplugin-telemetry env\` prints the configuration in force in the current environment
(value and source of every variable below, secrets redacted).

## Rules

These follow the OpenTelemetry
[Environment Variable Specification](https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):

- An empty value, or one made only of spaces, is the same as unset. Values are trimmed.
- Booleans are \`true\` or \`false\` in any case; anything else is a problem and the default is used.
- Numbers outside their range, or not numbers, are a problem and the default is used.
- Enumerations and lists are case-insensitive. An unknown list entry is a problem and that entry is
  ignored; when no entry is left, the default is used.
- \`key=value\` lists (\`OTEL_RESOURCE_ATTRIBUTES\`, the OTLP headers) are comma-separated with
  percent-encoded values; a bad entry is reported (never quoted) and ignored.
- A signal's own OTLP variable (\`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\`…) wins over the generic one.
  A signal endpoint is used exactly as given; the generic endpoint gets \`/v1/{signal}\` appended for
  the http protocols.
- A problem never stops the application. All problems of one start are written together, once, to
  **stderr**, each line prefixed \`rpcplugin-telemetry:\`. With \`RPCPLUGIN_STRICT=true\` they are
  written and the process exits with code ${STRICT_EXIT_CODE} before the application starts.
- Secret values (OTLP headers, values of keys named like a cookie, token, secret, password or key,
  credentials in URLs, the go-plugin magic cookie) are shown as \`[redacted]\` in every message and in
  \`rpcplugin-telemetry env\`.
- Values are quoted in messages as JSON strings in which control and invisible characters are
  escapes (\`\\n\`, \`\\u001b\`, \`\\u007f\`, \`\\u200b\`), and \`rpcplugin-telemetry env\` shows them the same
  way: no variable can send an escape sequence to the terminal or split a message over two lines.
- The report stays small whatever the environment holds: a value longer than ${QUOTED_VALUE_LIMIT} characters is cut,
  with its length (\`"otlp,x,x,…"… (100005 characters)\`); the bad entries of one list make one message,
  with their count and the first three; past ${REPORT_LIMIT / 1024} KiB the remaining problems are counted, not
  shown (\`rpcplugin-telemetry env\` lists them all).

A problem reads like this:

\`\`\`text
rpcplugin-telemetry: ${describeProblem({
  variable: 'OTEL_BSP_SCHEDULE_DELAY',
  value: '5s',
  issue: 'is not a whole number',
  accepted: definitionOf('OTEL_BSP_SCHEDULE_DELAY').kind.accepted,
  using: 'the default 5000',
})}
\`\`\`
`;

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('\n', ' ');
}

function defaultCell(name: (typeof VARIABLE_NAMES)[number]): string {
  const definition = definitionOf(name);
  if (definition.default === undefined) return cell(definition.defaultText ?? 'unset');
  const shown = definition.kind.show(definition.default);
  return shown === '' ? cell(definition.defaultText ?? '(empty)') : `\`${cell(shown)}\``;
}

export function renderConfigurationReference(): string {
  const sections = GROUPS.map((group) => {
    const names = VARIABLE_NAMES.filter((name) => definitionOf(name).group === group);
    const rows = names.map((name) => {
      const definition = definitionOf(name);
      const secret = definition.secret ? ' **Secret.**' : '';
      return `| \`${name}\` | ${defaultCell(name)} | ${cell(definition.kind.accepted)} | ${cell(definition.description)}${secret} |`;
    });
    return [`## ${group}`, '', '| Variable | Default | Accepted | Meaning |', '|---|---|---|---|', ...rows].join('\n');
  });
  return `${INTRO}\n${sections.join('\n\n')}\n`;
}
