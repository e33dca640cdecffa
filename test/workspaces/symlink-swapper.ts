import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The attack of issue 13: an agent inside a workspace loops
 * `mv dd R; ln -s <target> dd; rm dd; mv R dd`, so `dd` is now the real directory, now a
 * link to a host directory, now missing. Run in its own process with synchronous calls, as
 * a shell loop in a sandbox would, so the swaps interleave with the server's own calls.
 * `R` gets `restore` back before each return (a DELETE that reached the real file removes it).
 */
const SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const [ws, name, target, stopFile, restoreName, restoreText] = process.argv.slice(1);
const dd = path.join(ws, name);
const parked = path.join(ws, name + '.parked');
let swaps = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
const deadline = Date.now() + 300000; // a safety net only: the test stops the loop
const tryDo = (f) => { try { f(); } catch {} };
while (Date.now() < deadline) {
  if (swaps % 16 === 0 && fs.existsSync(stopFile)) break;
  tryDo(() => fs.renameSync(dd, parked));
  tryDo(() => fs.symlinkSync(target, dd));
  tryDo(() => fs.unlinkSync(dd));
  if (restoreName) tryDo(() => fs.writeFileSync(path.join(parked, restoreName), restoreText, { flag: 'wx' }));
  tryDo(() => fs.renameSync(parked, dd));
  swaps++;
  // Rest a moment with the real directory in place, so that some calls also meet it.
  Atomics.wait(pause, 0, 0, 0.3);
}
tryDo(() => { if (fs.lstatSync(dd).isSymbolicLink()) fs.unlinkSync(dd); });
tryDo(() => fs.renameSync(parked, dd));
process.stdout.write(String(swaps));
`;

export interface Swapper {
  /** Stops the loop, leaves `dd` the real directory again and says how many swaps ran. */
  stop(): Promise<number>;
}

export function startSymlinkSwapper(opts: {
  workspaceDir: string;
  name: string;
  target: string;
  restore?: { file: string; text: string };
}): Swapper {
  const stopFile = join(tmpdir(), `stop-swapper-${randomUUID()}`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      SCRIPT,
      opts.workspaceDir,
      opts.name,
      opts.target,
      stopFile,
      opts.restore?.file ?? '',
      opts.restore?.text ?? '',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      await writeFile(stopFile, '');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      await rm(stopFile, { force: true });
      return Number(out) || 0;
    },
  };
}

/** Calls `fn` `total` times, `width` at a time (so requests overlap each other and the swaps). */
export async function repeatConcurrently(
  total: number,
  width: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** A stand-in for a host directory (never /etc itself for writes): two files an attack could touch. */
export async function makeHostDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'canary.txt'), 'host canary');
  await writeFile(join(dir, 'victim.txt'), 'host victim');
}

/** The host directory exactly as makeHostDir left it: nothing written, deleted or created. */
export async function assertHostDirIntact(dir: string): Promise<void> {
  assert.equal(await readFile(join(dir, 'canary.txt'), 'utf8'), 'host canary', 'host file overwritten');
  assert.equal(await readFile(join(dir, 'victim.txt'), 'utf8'), 'host victim', 'host file deleted');
  assert.deepEqual((await readdir(dir)).sort(), ['canary.txt', 'victim.txt'], 'nothing created outside');
}

/** True when a response carries the host's /etc/passwd (or any part of it). */
export function isHostPasswd(text: string, hostPasswd: string): boolean {
  return text === hostPasswd || text.includes('root:');
}
