// The UI's one door to the Rust core: typed calls over the generated bindings, with the core's
// typed error turned into an exception the screens can show.
import { invoke } from '@tauri-apps/api/core';
import { commands, type AppInfo, type AttachmentInfo, type CommandError } from './bindings';
import { coreErrorText, type CoreErrorShape } from './errors';
import { t } from './i18n.svelte';

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
  if (typeof error === 'string') return error || t('errors.failed');
  if (error !== null && typeof error === 'object') return coreErrorText(error as CoreErrorShape) ?? t('errors.failed');
  return t('errors.failed');
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

/**
 * Sends a picked file to the core as the raw body of `add_attachment_raw` (its bytes as they
 * are: no JSON array of numbers, no base64), with the patient, encounter, file name and media
 * type in headers.
 */
export async function addAttachment(patientId: string, file: File, encounterId: string | null = null): Promise<AttachmentInfo> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    return await invoke<AttachmentInfo>('add_attachment_raw', bytes, {
      headers: {
        'x-outpost-patient': patientId,
        'x-outpost-encounter': encounterId ?? '',
        'x-outpost-file-name': encodeURIComponent(file.name),
        'x-outpost-media-type': file.type || 'application/octet-stream',
      },
    });
  } catch (err) {
    throw new CoreCallError(err as CommandError);
  }
}
