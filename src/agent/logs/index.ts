import type { Config } from '../../env/index.ts';

/** pino: trace correlation fields on every record, and export through the logs pipeline. Not yet implemented. */
export function instrumentPino(_config: Config): void {}
