import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { MAX_TIMER_DELAY } from '@managers/core';
import { createManagerError, ErrorCode } from '@managers/refcount';

/** Options of {@link startInspector}. */
export interface InspectorOptions {
  /** The TCP port (default 0: any free port; read it back from `inspector.url`). */
  readonly port?: number;
  /**
   * The address to listen on (default `'127.0.0.1'`). Any address that is not loopback also
   * needs `allowRemote: true`, and then every request must carry the token.
   */
  readonly host?: string;
  /** Required to listen on an address that is not loopback: the page shows the whole trace. */
  readonly allowRemote?: boolean;
  /**
   * A secret every request must carry as `?token=…` (at least 16 characters). Generated when
   * `allowRemote` is set and no token is given; optional on loopback. `inspector.url` carries it.
   */
  readonly token?: string;
  /** How many trace events the inspector keeps and shows (default 2000). */
  readonly traceLimit?: number;
  /** A handoff not adopted after this many ms is a warning (default 5000). */
  readonly handoffWarningMs?: number;
  /** A refcount that grew this many times without ever dropping is a warning (default 10). */
  readonly growthWarningCount?: number;
}

/** The options with their defaults filled in. */
export interface InspectorSettings {
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
  readonly traceLimit: number;
  readonly handoffWarningMs: number;
  readonly growthWarningCount: number;
}

/** The warning thresholds the model needs. */
export type WarningSettings = Pick<InspectorSettings, 'handoffWarningMs' | 'growthWarningCount'>;

/** Defaults of {@link InspectorOptions}. */
export const INSPECTOR_DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  traceLimit: 2000,
  handoffWarningMs: 5000,
  growthWarningCount: 10,
} as const;

const KNOWN = new Set([
  'port',
  'host',
  'allowRemote',
  'token',
  'traceLimit',
  'handoffWarningMs',
  'growthWarningCount',
]);

/** True for `localhost`, `::1` and every `127.x.y.z` address. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

function invalid(option: string, message: string): never {
  throw createManagerError(ErrorCode.InvalidOption, `options.${option} ${message}`, {
    details: { option },
  });
}

function count(
  value: unknown,
  option: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(
      option,
      max === Number.MAX_SAFE_INTEGER
        ? `must be an integer ≥ ${min}, got ${inspect(value)}`
        : `must be an integer from ${min} to ${max}, got ${inspect(value)}`,
    );
  return value;
}

/** Validates the options of `startInspector()` (throws a `ManagerError` naming the option). */
export function parseInspectorOptions(options: unknown): InspectorSettings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `startInspector() options must be an object, got ${inspect(options)}`,
    );
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) invalid(key, `is not an option of startInspector()`);
  }
  const port = count(given.port, 'port', INSPECTOR_DEFAULTS.port, 0);
  if (port > 65535) invalid('port', `must be at most 65535, got ${port}`);
  const host = given.host ?? INSPECTOR_DEFAULTS.host;
  if (typeof host !== 'string' || host === '')
    invalid('host', `must be a non-empty string, got ${inspect(host)}`);
  if (given.allowRemote !== undefined && typeof given.allowRemote !== 'boolean')
    invalid('allowRemote', `must be a boolean, got ${inspect(given.allowRemote)}`);
  const remote = !isLoopback(host);
  if (remote && given.allowRemote !== true) {
    invalid(
      'host',
      `'${host}' is not a loopback address: the page shows every object and the whole trace, so listening there needs allowRemote: true (and every request then needs the token)`,
    );
  }
  let token = given.token;
  if (token !== undefined && (typeof token !== 'string' || !/^[\w-]{16,}$/.test(token)))
    invalid('token', 'must be at least 16 characters among A–Z, a–z, 0–9, _ and -');
  if (token === undefined && remote) token = randomBytes(24).toString('base64url');
  return {
    port,
    host,
    token: token as string | undefined,
    traceLimit: count(given.traceLimit, 'traceLimit', INSPECTOR_DEFAULTS.traceLimit, 1),
    handoffWarningMs: count(
      given.handoffWarningMs,
      'handoffWarningMs',
      INSPECTOR_DEFAULTS.handoffWarningMs,
      0,
      MAX_TIMER_DELAY,
    ),
    growthWarningCount: count(
      given.growthWarningCount,
      'growthWarningCount',
      INSPECTOR_DEFAULTS.growthWarningCount,
      1,
    ),
  };
}
