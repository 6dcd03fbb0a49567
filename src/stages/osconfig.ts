/**
 * osconfig stage: our Ansible role (playbooks/roles/osconfig) applied to a running container of an image,
 * then the container committed as a new image. Used by `build` (run context `common`) and by cut-image for
 * each QCOW bundle (run context `qcow`). The container is always removed, also on failure or abort.
 */
import { randomBytes } from 'node:crypto';
import { ROLE_VARIABLES } from '../config/osconfig.js';
import { secretStrings } from '../config/redact.js';
import type { OsconfigVars, RunContext } from '../config/types.js';
import { runPlaybook } from '../engine/ansible.js';
import { unsafeVarsYaml } from '../engine/ansible-vars.js';
import {
  archivePaths,
  changesSince,
  containerChanges,
  type StatusSnapshot,
  statusSnapshot,
} from '../engine/container-diff.js';
import { commitContainer, createContainer, removeContainer } from '../engine/docker.js';
import { BuildError } from '../errors.js';
import { bundledPlaybook } from './playbook-path.js';

/**
 * A session id for container labels: `p<pid>-<random>`. A later build removes containers of sessions whose
 * process is gone, so keep this format.
 */
export interface OsconfigInput {
  /** Image id or reference to configure. */
  image: string;
  vars: OsconfigVars;
  runContext: RunContext;
  proxy?: string;
  noProxy?: string;
  /** Session id put on the container's label (see engine/docker SESSION_LABEL). */
  session: string;
  /** Appended with ansible-playbook's full output. */
  logFile: string;
  /** Dockerfile instructions applied on commit (e.g. LABEL …). */
  changes?: readonly string[];
  signal?: AbortSignal;
  /** Lines of ansible-playbook's output, secrets masked. */
  onOutput?: (line: string) => void;
  /**
   * SOURCE_DATE_EPOCH for the role's commands (the playbook sets it for every task): mkinitramfs, useradd
   * and the like then write the same bytes in every build.
   */
  sourceDateEpoch?: number;
}

/**
 * The extra-vars document handed to the role: exactly the role's documented variables (never a variable the
 * user merely wrote in a file), plus run context and proxy.
 */
export function osconfigExtraVars(
  vars: OsconfigVars,
  runContext: RunContext,
  proxy = '',
  noProxy = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ROLE_VARIABLES) out[name] = vars[name];
  return { ...out, run_context: runContext, proxy, no_proxy: noProxy };
}

/** The failing task and its message from ansible-playbook output. */
export function ansibleCause(output: string): string {
  const lines = output.split('\n');
  const i = lines.findIndex((l) => /^fatal: |^failed: /.test(l));
  if (i < 0) return '';
  let task = '';
  for (let j = i; j >= 0; j--) {
    const m = /^TASK \[(.*)\]/.exec(lines[j] ?? '');
    if (m) {
      task = m[1] ?? '';
      break;
    }
  }
  const detail = (lines[i] ?? '').slice(0, 1500);
  return `task "${task}" failed: ${detail}`;
}

/**
 * Applies the osconfig role for `runContext` to a container of `input.image` and commits it.
 * @returns the committed image id, untagged: the caller tags it or removes it when done.
 * @throws BuildError naming the failed task and its output (user script stdout/stderr included).
 */
export async function applyOsconfig(input: OsconfigInput): Promise<{ image: string }> {
  return runOsconfig(input, false, async (id) => ({ image: await commitContainer(id, input.changes ?? []) }));
}

/** What one osconfig run changed in its image: deleted paths and tars of the added and changed ones. */
export interface OsconfigLayer {
  /** Absolute paths in the image, as Docker reports them. */
  deleted: string[];
  /** Tar files to unpack in order over the image's tree. */
  tars: string[];
}

/**
 * Applies the osconfig role for `runContext` to a container of `input.image` and keeps its changes as a layer
 * (tar files named `${out}-N.tar`) instead of committing them: a tree extracted once from the image takes it.
 * The changes are read from two listings by the image's find, before and after the role; `docker diff` when the
 * image has no GNU find.
 * @throws BuildError naming the failed task; BuildError from Docker when the changes cannot be read.
 */
export async function osconfigLayer(input: OsconfigInput, out: string): Promise<OsconfigLayer> {
  return runOsconfig(input, true, async (id, before) => {
    const changes = (before && (await changesSince(id, before))) ?? (await containerChanges(id));
    const deleted = changes.filter((c) => c.kind === 'deleted').map((c) => c.path);
    const kept = changes.filter((c) => c.kind !== 'deleted').map((c) => c.path);
    return { deleted, tars: await archivePaths(id, kept, out, input.signal) };
  });
}

/**
 * Starts ansible-playbook and, during its own start (about a second), makes the container and, with
 * `snapshot`, lists its files; then hands Ansible its variables. `finish` gets the container and that listing.
 */
async function runOsconfig<T>(
  input: OsconfigInput,
  snapshot: boolean,
  finish: (containerId: string, before: StatusSnapshot | null) => Promise<T>,
): Promise<T> {
  const name = `aib-osconfig-${input.session}-${randomBytes(3).toString('hex')}`;
  let containerId: string | undefined;
  const ready = (async () => {
    const c = await createContainer(input.image, { session: input.session, name, start: true });
    containerId = c.id;
    return { id: c.id, before: snapshot ? await statusSnapshot(c.id) : null };
  })();
  try {
    const vars = unsafeVarsYaml({
      ...osconfigExtraVars(input.vars, input.runContext, input.proxy, input.noProxy),
      ...(input.sourceDateEpoch === undefined ? {} : { source_date_epoch: input.sourceDateEpoch }),
    });
    let output = '';
    try {
      await runPlaybook({
        playbook: bundledPlaybook('osconfig.yaml'),
        container: name,
        extraVars: ready.then(() => vars),
        logFile: input.logFile,
        // Everything `config` would mask: passwords, private keys in files, URL credentials, the proxy's.
        secrets: secretStrings({ vars: input.vars, proxy: input.proxy ?? '' }),
        onLine: (s) => {
          output = (output + s).slice(-200_000);
          input.onOutput?.(s);
        },
        ...(input.signal ? { signal: input.signal } : {}),
      });
    } catch (err) {
      // The container could not be made: that is the failure, not Ansible's stop.
      await ready;
      const cause = ansibleCause(output) || (err instanceof Error ? err.message : String(err));
      throw new BuildError(`ansible-playbook failed (run context ${input.runContext}): ${cause}`, {
        logFile: input.logFile,
        ...(err instanceof BuildError && err.details.logTail ? { logTail: err.details.logTail } : {}),
      });
    }
    if (input.signal?.aborted) throw new BuildError('osconfig: aborted');
    const { id, before } = await ready;
    return await finish(id, before);
  } finally {
    await ready.catch(() => undefined);
    if (containerId) await removeContainer(containerId);
  }
}
