import { writeSync } from 'node:fs';
import process from 'node:process';

/**
 * Writes the agent's own messages. Always stderr, never stdout: a go-plugin plugin's first stdout
 * line is its handshake. Synchronous, so a message printed just before `process.exit` is not lost
 * (process.stderr is asynchronous for pipes on some runtimes).
 */
export function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    process.stderr.write(text);
  }
}
