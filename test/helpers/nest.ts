/** Folders nested deeper than PATH_MAX can name (a hostile image's tree): made one level at a time. */
import { execFileSync } from 'node:child_process';

const NEST = `
import os, sys
os.mkdir(sys.argv[1]); os.chdir(sys.argv[1])
for _ in range(int(sys.argv[2])):
    os.mkdir('d'); os.chdir('d')
`;

/** `top` holding `levels` folders `d`, each inside the last. */
export function nestFolders(top: string, levels: number): void {
  execFileSync('python3', ['-c', NEST, top, String(levels)], { stdio: 'pipe' });
}
