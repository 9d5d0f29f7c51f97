// The UI's one door to the Rust core: typed calls over the generated bindings.
import { commands, type AppInfo, type CommandError } from './bindings';

/** A command failed with the core's typed error. */
export class CoreCallError extends Error {
  constructor(readonly error: CommandError) {
    super(`${error.kind}: ${error.message}`);
    this.name = 'CoreCallError';
  }
}

/** Version, data directory, build features and status, from the core. */
export async function appInfo(): Promise<AppInfo> {
  const result = await commands.appInfo();
  if (result.status === 'ok') return result.data;
  throw new CoreCallError(result.error);
}
