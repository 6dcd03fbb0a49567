/**
 * ansible-playbook against a running container over the docker connection. Variables go in a file
 * (`-e @file`, written by `unsafeVarsYaml` of ansible-vars.ts, so no string in it is ever templated), never on
 * the command line, so passwords do not show up in process lists or logs.
 */
import { run } from './exec.js';

export interface PlaybookOptions {
  playbook: string;
  /** Container name or id. */
  container: string;
  extraVarsFile: string;
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
  };
  await run(
    'ansible-playbook',
    ['-i', `${o.container},`, '-c', 'community.docker.docker', '-e', `@${o.extraVarsFile}`, o.playbook],
    {
      env,
      logFile: o.logFile,
      captureStdout: false,
      processGroup: true,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.secrets ? { secrets: o.secrets } : {}),
      ...(o.onLine ? { onLine: o.onLine } : {}),
    },
  );
}
