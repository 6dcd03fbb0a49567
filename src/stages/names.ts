/**
 * Names the stages share with library users, kept apart from the stages themselves so that importing the
 * library does not load Docker, Ansible or tar code it may never run.
 */
import { leasedName } from '../lease.js';

/** Folder of the live-CD tree inside the ISO stage's image. */
export const LIVECD_ROOT = 'livecd';
/** File GRUB searches for to find the live medium. */
export const LIVECD_MARKER = '.airship-livecd';

/**
 * A session id for container and image labels: what one run created, so it can be cleaned up. It carries the
 * run's lease, so a later run can tell whether the run is still going (see src/lease.ts). The leading
 * `p<pid>-` is the form earlier versions wrote and swept by: one of them running beside this one on the same
 * Docker Engine sees a live pid and leaves this run's containers alone.
 */
export function newSession(): string {
  return leasedName(`p${process.pid}-`);
}
