/**
 * ansible-playbook against running containers over the docker connection. The inventory, which holds each
 * container's variables (the YAML of `unsafeInventoryYaml` in ansible-vars.ts, so no string in it is ever
 * templated), goes through a FIFO in a private folder: never on the command line or in a file, so passwords
 * show up in no process list, log or folder.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './exec.js';

export interface PlaybookOptions {
  playbook: string;
  /**
   * The inventory YAML: the containers (by name) and their variables. Ansible reads it about a second after its
   * start, once its modules are loaded: a pending promise lets the caller make the containers meanwhile. A
   * rejection stops Ansible and is thrown as it is.
   */
  inventory: string | Promise<string>;
  logFile: string;
  signal?: AbortSignal;
  secrets?: readonly string[];
  env?: Record<string, string>;
  /** Each line of output, secrets masked. */
  onLine?: (line: string) => void;
}

/**
 * Runs the playbook.
 * @throws BuildError when a task fails; its output tail names the task and the module's message.
 */
export async function runPlaybook(o: PlaybookOptions): Promise<void> {
  // Handled from here on, so a rejection while the FIFO is made is not an unhandled one.
  const inventory = Promise.resolve(o.inventory);
  inventory.catch(() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'aib-ansible-'));
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  try {
    // The YAML inventory plugin takes a file by its name's ending.
    const fifo = join(dir, 'inventory.yaml');
    await run('mkfifo', ['-m', '0600', fifo]);
    let exited = false;
    const playing = play(o, fifo, signal).finally(() => {
      exited = true;
    });
    playing.catch(() => undefined);
    try {
      await feed(fifo, await inventory, () => exited);
    } catch (err) {
      stop.abort();
      await playing.catch(() => undefined);
      throw err;
    }
    await playing;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Writes `text` into `fifo` once its reader is there (polled: a blocking open would wait forever for a reader
 * that failed before opening it); gives up when `gone` says the reader will never come.
 */
async function feed(fifo: string, text: string, gone: () => boolean): Promise<void> {
  let fd: number | undefined;
  while (fd === undefined) {
    if (gone()) return;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      await sleep(10);
    }
  }
  try {
    const data = Buffer.from(text);
    for (let at = 0; at < data.length; ) {
      try {
        at += writeSync(fd, data, at);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A full pipe waits for the reader; a reader gone (EPIPE) reports its own failure.
        if (code === 'EPIPE') return;
        if (code !== 'EAGAIN') throw err;
        await sleep(5);
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function play(o: PlaybookOptions, inventory: string, signal: AbortSignal): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...o.env,
    // About half a second per task whatever the transport; pipelining saves the file copy per module.
    ANSIBLE_PIPELINING: 'true',
    ANSIBLE_HOST_KEY_CHECKING: 'false',
    ANSIBLE_RETRY_FILES_ENABLED: 'false',
    ANSIBLE_NOCOLOR: 'true',
    ANSIBLE_FORCE_COLOR: 'false',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_DISPLAY_SKIPPED_HOSTS: 'false',
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_LOCALHOST_WARNING: 'false',
    ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
    // Only the YAML plugin: another one trying the FIFO first would take what it holds.
    ANSIBLE_INVENTORY_ENABLED: 'yaml',
  };
  await run('ansible-playbook', ['-i', inventory, '-c', 'community.docker.docker', o.playbook], {
    env,
    signal,
    logFile: o.logFile,
    captureStdout: false,
    processGroup: true,
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  });
}
