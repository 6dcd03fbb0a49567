// A static HTTP server on 127.0.0.1 for the keyring_url tests, in its own process (a CLI run by spawnSync
// blocks the test process's event loop). Prints `port N` once listening. Besides the files of the folder
// given as argument, it serves hostile answers:
//   /huge          an endless body without Content-Length (the cap must stop the download)
//   /huge-declared a Content-Length of 1 GiB
//   /to-file       a redirect to file:///etc/passwd
//   /to-ftp        a redirect to ftp://127.0.0.1/key
//   /garbage.asc   bytes that are no OpenPGP data
//   /private/*     the folder's files behind Basic authentication (user "aib", password in AIB_KEY_PASSWORD)
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const root = process.argv[2];
const password = process.env.AIB_KEY_PASSWORD ?? 's3cret-key-password';

function file(res, rel) {
  const path = join(root, normalize(`/${rel}`));
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-length': st.size });
    createReadStream(path).pipe(res);
  } catch {
    res.writeHead(404).end('not found\n');
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = decodeURIComponent(url.pathname);
  if (path === '/huge') {
    res.writeHead(200, { 'content-type': 'application/pgp-keys' });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = () => {
      while (res.write(chunk)) if (res.destroyed) return;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.destroy());
    pump();
  } else if (path === '/huge-declared') {
    res.writeHead(200, { 'content-length': 1024 ** 3 });
    res.write(Buffer.alloc(1024, 0x41));
  } else if (path === '/to-file') {
    res.writeHead(302, { location: 'file:///etc/passwd' }).end();
  } else if (path === '/to-ftp') {
    res.writeHead(302, { location: 'ftp://127.0.0.1/key' }).end();
  } else if (path === '/garbage.asc') {
    res
      .writeHead(200)
      .end(Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n=AAAA\n-----END'));
  } else if (path.startsWith('/private/')) {
    const expected = `Basic ${Buffer.from(`aib:${password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) res.writeHead(401).end('unauthorized\n');
    else file(res, path.slice('/private/'.length));
  } else {
    file(res, path);
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
