/**
 * Finds the file a command name runs, as a shell does (execvp): a name with a slash is a path from
 * the working directory, any other name is looked up in PATH. The exit codes are a shell's: 127 when
 * nothing is found, 126 when what is found cannot be run.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';

export type Resolution =
  | { readonly ok: true; readonly file: string }
  | { readonly ok: false; readonly exitCode: 126 | 127; readonly reason: string };

export function resolveCommand(name: string, path: string | undefined, cwd: string): Resolution {
  if (name.includes('/')) return check(isAbsolute(name) ? name : resolve(cwd, name), name);
  let notExecutable: Resolution | undefined;
  for (const dir of (path ?? '').split(delimiter)) {
    // An empty PATH entry means the working directory, as in a shell.
    const candidate = resolve(cwd, dir === '' ? '.' : dir, name);
    const found = check(candidate, name);
    if (found.ok) return found;
    if (found.exitCode === 126) notExecutable ??= found;
  }
  return notExecutable ?? { ok: false, exitCode: 127, reason: `${name}: command not found` };
}

function check(file: string, name: string): Resolution {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    return { ok: false, exitCode: 127, reason: `${name}: no such file` };
  }
  if (!isFile) return { ok: false, exitCode: 126, reason: `${name}: is a directory, not a program` };
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return { ok: false, exitCode: 126, reason: `${name}: permission denied (${file} is not executable)` };
  }
  return { ok: true, file };
}
