import fs from 'node:fs';

/**
 * Wipes `name=value` from this process's original environment block, the bytes that
 * `/proc/<pid>/environ` shows to every process of the same user — the jobs a worker
 * runs included. Deleting the variable from `process.env` only unlinks it from the
 * C `environ` array; its bytes stay in that block for the life of the process. They
 * are overwritten with NULs through `/proc/self/mem`, which a process may always write
 * for itself: the same effect as re-executing without the variable, without a second
 * process to forward signals to. Returns false where that is not possible (not Linux).
 */
export function scrubEnvironBlock(name: string): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return false;
  }
  // fields 50 and 51 (env_start, env_end); the command name (field 2) may hold spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !(end > start)) return false;
  let fd: number;
  try {
    fd = fs.openSync('/proc/self/mem', 'r+');
  } catch {
    return false;
  }
  try {
    const block = Buffer.alloc(end - start);
    fs.readSync(fd, block, 0, block.length, start);
    const prefix = Buffer.from(`${name}=`);
    for (let at = 0; at < block.length;) {
      const nul = block.indexOf(0, at);
      const stop = nul === -1 ? block.length : nul;
      if (block.subarray(at, at + prefix.length).equals(prefix)) {
        const zeros = Buffer.alloc(stop - at);
        fs.writeSync(fd, zeros, 0, zeros.length, start + at);
      }
      at = stop + 1;
    }
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
