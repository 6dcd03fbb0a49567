/**
 * Names the stages share with library users, kept apart from the stages themselves so that importing the
 * library does not load Docker, Ansible or tar code it may never run.
 */
import { randomBytes } from 'node:crypto';

/** Folder of the live-CD tree inside the ISO stage's image. */
export const LIVECD_ROOT = 'livecd';
/** File GRUB searches for to find the live medium. */
export const LIVECD_MARKER = '.airship-livecd';

/** A session id for container labels: what one run created, so it can be cleaned up. */
export function newSession(): string {
  return `p${process.pid}-${randomBytes(4).toString('hex')}`;
}
