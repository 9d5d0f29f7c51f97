// The UI's one door to the Rust core: typed calls over the generated bindings, with the core's
// typed error turned into an exception the screens can show.
import { commands, type AppInfo, type CommandError } from './bindings';

/** A command failed with the core's typed error. */
export class CoreCallError extends Error {
  constructor(readonly error: CommandError) {
    super(messageOf(error));
    this.name = 'CoreCallError';
  }

  /** True when the profile is locked (for example auto-locked while idle). */
  get locked(): boolean {
    return typeof this.error === 'object' && this.error !== null && this.error.kind === 'locked';
  }
}

/**
 * The words of an error from the bridge: the core's typed error, or the plain string the
 * bridge itself rejects with when a command's arguments do not fit (never a TypeError).
 */
export function messageOf(error: unknown): string {
  if (typeof error === 'string') return error || 'The request failed.';
  if (error !== null && typeof error === 'object') {
    const e = error as { message?: unknown; kind?: unknown };
    if (typeof e.message === 'string' && e.message) return e.message;
    if (typeof e.kind === 'string') return e.kind;
  }
  return 'The request failed.';
}

type Result<T> = { status: 'ok'; data: T } | { status: 'error'; error: CommandError };

/** Unwraps a command result, throwing [`CoreCallError`] on a typed error. */
export async function call<T>(result: Promise<Result<T>>): Promise<T> {
  const r = await result;
  if (r.status === 'ok') return r.data;
  throw new CoreCallError(r.error);
}

/** Version, data directory, build features and status, from the core. */
export async function appInfo(): Promise<AppInfo> {
  return call(commands.appInfo());
}

/** A message for a person from anything thrown by a call. */
export function describe(err: unknown): string {
  if (err instanceof CoreCallError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
