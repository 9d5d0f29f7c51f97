// The UI's one door to the Rust core: typed calls over the generated bindings, with the core's
// typed error turned into an exception the screens can show.
import { commands, type AppInfo, type CommandError } from './bindings';

/** A command failed with the core's typed error. */
export class CoreCallError extends Error {
  constructor(readonly error: CommandError) {
    super('message' in error && error.message ? error.message : error.kind);
    this.name = 'CoreCallError';
  }

  /** True when the profile is locked (for example auto-locked while idle). */
  get locked(): boolean {
    return this.error.kind === 'locked';
  }
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
