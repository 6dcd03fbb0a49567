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
import { unsafeInventoryYaml } from '../engine/ansible-vars.js';
import {
  archivePaths,
  changesSince,
  containerChanges,
  type StatusSnapshot,
  statusSnapshot,
  statusSnapshotFrom,
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
 * The variables handed to the role (as a container's host variables): exactly the role's documented variables
 * (never a variable the user merely wrote in a file), plus run context and proxy.
 */
export function osconfigRoleVars(
  vars: OsconfigVars,
  runContext: RunContext,
  proxy = '',
  noProxy = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ROLE_VARIABLES) out[name] = vars[name];
  return { ...out, run_context: runContext, proxy, no_proxy: noProxy };
}

/**
 * Whether the role may reach the network in run context `runContext`: it runs user scripts there (which may
 * fetch anything) or fetches URLs (in every run context). Nothing else the role does needs a network, so a
 * container that needs none gets none.
 */
export function osconfigNeedsNetwork(vars: OsconfigVars, runContext: RunContext): boolean {
  return vars.user_scripts.some((s) => s.run_contexts.includes(runContext)) || vars.fetch_from_url.length > 0;
}

/** The failing task and its message from ansible-playbook output (of `host`'s, when given). */
export function ansibleCause(output: string, host?: string): string {
  const lines = output.split('\n');
  const i = lines.findIndex((l) =>
    host === undefined
      ? /^fatal: |^failed: /.test(l)
      : l.startsWith(`fatal: [${host}]`) || l.startsWith(`failed: [${host}]`),
  );
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
 * Whether `host` came through ansible-playbook's run: its line in the play recap has no failed or unreachable
 * task. A host without a recap line (Ansible stopped before it) did not.
 */
export function hostCameThrough(output: string, host: string): boolean {
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line);
    if (m?.[1] === host) return m[2] === '0' && m[3] === '0';
  }
  return false;
}

/**
 * Applies the osconfig role for `runContext` to a container of `input.image` and commits it.
 * @returns the committed image id, untagged: the caller tags it or removes it when done.
 * @throws BuildError naming the failed task and its output (user script stdout/stderr included).
 */
export async function applyOsconfig(input: OsconfigInput): Promise<{ image: string }> {
  const [r] = await runOsconfigs([
    { input, finish: async (id) => ({ image: await commitContainer(id, input.changes ?? []) }) },
  ]);
  return settled(r);
}

function settled<T>(r: PromiseSettledResult<T> | undefined): T {
  if (!r) throw new Error('osconfig: no result');
  if (r.status === 'rejected') throw r.reason;
  return r.value;
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
  return settled((await osconfigLayers([{ input, out }]))[0]);
}

/**
 * {@link osconfigLayer} for several containers in one ansible-playbook (one start-up; each container with its
 * own variables). They share the first input's log file, signal and run context.
 * @param early told each run's result as soon as its layer is written, while the containers are still removed
 * @returns per run, its layer or its own failure (a failed task in one container fails only that run), once
 *   every container is gone
 */
export async function osconfigLayers(
  runs: readonly { input: OsconfigInput; out: string }[],
  early?: (index: number, result: PromiseSettledResult<OsconfigLayer>) => void,
): Promise<PromiseSettledResult<OsconfigLayer>[]> {
  return runOsconfigs(
    runs.map(({ input, out }) => ({
      input,
      snapshot: true,
      finish: async (id: string, before: StatusSnapshot | null) => {
        const changes = (before && (await changesSince(id, before))) ?? (await containerChanges(id));
        const deleted = changes.filter((c) => c.kind === 'deleted').map((c) => c.path);
        const kept = changes.filter((c) => c.kind !== 'deleted').map((c) => c.path);
        return { deleted, tars: await archivePaths(id, kept, out, input.signal) };
      },
    })),
    early,
  );
}

interface OsconfigRun<T> {
  input: OsconfigInput;
  /** List the container's files before the role runs (handed to `finish`). */
  snapshot?: boolean;
  /** What the run gives from its configured container and that listing. */
  finish: (containerId: string, before: StatusSnapshot | null) => Promise<T>;
}

/**
 * Starts one ansible-playbook for all `runs` and, during its own start (about a second), makes a container per
 * run and lists its files; then hands Ansible the inventory, each container with its run's variables. A run
 * whose container failed a task gets that task's error; the others go on to `finish`. Each run's result goes to
 * `early` as it settles; the call returns once every container is removed, also on failure or abort.
 */
async function runOsconfigs<T>(
  runs: readonly OsconfigRun<T>[],
  early?: (index: number, result: PromiseSettledResult<T>) => void,
): Promise<PromiseSettledResult<T>[]> {
  const first = runs[0]?.input;
  if (!first) return [];
  const names = runs.map((r) => `aib-osconfig-${r.input.session}-${randomBytes(3).toString('hex')}`);
  const ids: string[] = [];
  const listings = new SharedListings();
  const ready = runs.map(async (r, i) => {
    const c = await createContainer(r.input.image, {
      session: r.input.session,
      name: names[i] as string,
      start: true,
      network: osconfigNeedsNetwork(r.input.vars, r.input.runContext),
    });
    ids.push(c.id);
    return { id: c.id, before: r.snapshot ? await listings.of(r.input.image, c.id) : null };
  });
  for (const p of ready) p.catch(() => undefined);
  try {
    const inventory = Promise.all(ready).then(() =>
      unsafeInventoryYaml(Object.fromEntries(runs.map((r, i) => [names[i] as string, hostVars(r.input)]))),
    );
    let output = '';
    let failure: unknown;
    try {
      await runPlaybook({
        playbook: bundledPlaybook('osconfig.yaml'),
        inventory,
        logFile: first.logFile,
        // Everything `config` would mask: passwords, private keys in files, URL credentials, the proxy's.
        secrets: runs.flatMap((r) => secretStrings({ vars: r.input.vars, proxy: r.input.proxy ?? '' })),
        onLine: (s) => {
          output = (output + s).slice(-200_000);
          for (const r of runs) r.input.onOutput?.(s);
        },
        ...(first.signal ? { signal: first.signal } : {}),
      });
    } catch (err) {
      // A container could not be made: that is the failure, not Ansible's stop.
      await Promise.all(ready);
      failure = err;
    }
    const results = runs.map(async (r, i) => {
      if (first.signal?.aborted) throw new BuildError('osconfig: aborted');
      const host = names[i] as string;
      if (failure !== undefined && !hostCameThrough(output, host))
        throw playbookError(r.input, failure, output, host);
      const { id, before } = await (ready[i] as (typeof ready)[number]);
      return r.finish(id, before);
    });
    // The caller goes on with a run's result while the containers are removed (a few tenths of a second).
    if (early)
      for (const [i, result] of results.entries())
        result.then(
          (value) => early(i, { status: 'fulfilled', value }),
          (reason: unknown) => early(i, { status: 'rejected', reason }),
        );
    return await Promise.allSettled(results);
  } finally {
    await Promise.allSettled(ready);
    await Promise.all(ids.map((id) => removeContainer(id)));
  }
}

/**
 * The before-listings of a batch's containers: one whole walk per image, the others of that image take it with
 * their own init-layer paths (engine/container-diff's statusSnapshotFrom). A container whose image's first
 * listing failed, or gave none, lists on its own.
 */
class SharedListings {
  private readonly first = new Map<string, Promise<StatusSnapshot | null>>();

  async of(image: string, id: string): Promise<StatusSnapshot | null> {
    const known = this.first.get(image);
    if (!known) {
      const mine = statusSnapshot(id);
      this.first.set(image, mine);
      return mine;
    }
    const shared = await known.catch(() => null);
    return (shared && (await statusSnapshotFrom(id, shared))) ?? statusSnapshot(id);
  }
}

/** The role's variables for one container. */
function hostVars(input: OsconfigInput): Record<string, unknown> {
  return {
    ...osconfigRoleVars(input.vars, input.runContext, input.proxy, input.noProxy),
    ...(input.sourceDateEpoch === undefined ? {} : { source_date_epoch: input.sourceDateEpoch }),
  };
}

/** A run's failure: the task that failed in its container, else Ansible's own error. */
function playbookError(input: OsconfigInput, err: unknown, output: string, host: string): BuildError {
  const cause = ansibleCause(output, host) || (err instanceof Error ? err.message : String(err));
  return new BuildError(`ansible-playbook failed (run context ${input.runContext}): ${cause}`, {
    logFile: input.logFile,
    ...(err instanceof BuildError && err.details.logTail ? { logTail: err.details.logTail } : {}),
  });
}
