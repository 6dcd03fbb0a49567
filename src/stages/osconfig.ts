/**
 * osconfig stage: our Ansible role (playbooks/roles/osconfig) applied to a running container of an image,
 * then the container committed as a new image. Used by `build` (run context `common`) and by cut-image for
 * each QCOW bundle (run context `qcow`). The container is always removed, also on failure or abort.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE_VARIABLES } from '../config/osconfig.js';
import { secretStrings } from '../config/redact.js';
import type { OsconfigVars, RunContext } from '../config/types.js';
import { runPlaybook } from '../engine/ansible.js';
import { unsafeVarsYaml } from '../engine/ansible-vars.js';
import { archivePaths, containerChanges } from '../engine/container-diff.js';
import { commitContainer, createContainer, removeContainer } from '../engine/docker.js';
import { BuildError } from '../errors.js';
import { leaseTag } from '../lease.js';
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
  return runOsconfig(input, async (id) => ({ image: await commitContainer(id, input.changes ?? []) }));
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
 * @throws BuildError naming the failed task; BuildError from Docker when the changes cannot be read.
 */
export async function osconfigLayer(input: OsconfigInput, out: string): Promise<OsconfigLayer> {
  return runOsconfig(input, async (id) => {
    const changes = await containerChanges(id);
    const deleted = changes.filter((c) => c.kind === 'deleted').map((c) => c.path);
    const kept = changes.filter((c) => c.kind !== 'deleted').map((c) => c.path);
    return { deleted, tars: await archivePaths(id, kept, out, input.signal) };
  });
}

async function runOsconfig<T>(input: OsconfigInput, finish: (containerId: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), `aib-osconfig-${leaseTag()}-`));
  const name = `aib-osconfig-${input.session}-${randomBytes(3).toString('hex')}`;
  let containerId: string | undefined;
  try {
    const varsFile = join(scratch, 'vars.yaml');
    await writeFile(
      varsFile,
      unsafeVarsYaml({
        ...osconfigExtraVars(input.vars, input.runContext, input.proxy, input.noProxy),
        ...(input.sourceDateEpoch === undefined ? {} : { source_date_epoch: input.sourceDateEpoch }),
      }),
      { mode: 0o600, flag: 'wx' },
    );
    const c = await createContainer(input.image, { session: input.session, name, start: true });
    containerId = c.id;
    let output = '';
    try {
      await runPlaybook({
        playbook: bundledPlaybook('osconfig.yaml'),
        container: c.name,
        extraVarsFile: varsFile,
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
      const cause = ansibleCause(output) || (err instanceof Error ? err.message : String(err));
      throw new BuildError(`ansible-playbook failed (run context ${input.runContext}): ${cause}`, {
        logFile: input.logFile,
        ...(err instanceof BuildError && err.details.logTail ? { logTail: err.details.logTail } : {}),
      });
    }
    if (input.signal?.aborted) throw new BuildError('osconfig: aborted');
    return await finish(c.id);
  } finally {
    if (containerId) await removeContainer(containerId);
    await rm(scratch, { recursive: true, force: true });
  }
}
