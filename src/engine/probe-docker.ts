/** Probes the Docker Engine: reachable, and which version answers. */
import { docker } from './docker-client.js';
import type { ProbeResult } from './probe-types.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Pings the engine named by DOCKER_HOST (default: the local socket); never throws. */
export async function probeDocker(): Promise<ProbeResult> {
  const base = {
    id: 'docker',
    title: 'Docker Engine',
    neededBy: ['build', 'cut-image', 'package-qcow'],
    debianPackage: 'docker.io',
  };
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  try {
    const engine = await docker();
    await withTimeout(engine.ping(), 5000);
    const v = await withTimeout(engine.version(), 5000);
    return { ...base, status: 'ok', detail: `Docker Engine ${v.Version} (API ${v.ApiVersion}) at ${where}` };
  } catch (err) {
    return {
      ...base,
      status: 'error',
      detail: `not reachable at ${where}: ${(err as Error).message}`,
      fix: 'apt-get install docker.io, start dockerd (systemctl start docker), and make sure this user may use the socket (group docker) or set DOCKER_HOST',
    };
  }
}
