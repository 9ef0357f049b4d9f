import { describe, expect, it } from 'vitest';
import { resumeCommand } from '../../src/cli/running-graces.js';

describe('the --resume hint', () => {
  it('is the command as given, quoted for a shell, with --resume before --', () => {
    expect(resumeCommand(['run', 'jobs.yaml', '-j', '4'])).toBe(
      'jobrun run jobs.yaml -j 4 --resume',
    );
    expect(resumeCommand(['run', '--glob', '*.txt', '--', 'wc -l {}'])).toBe(
      "jobrun run --glob '*.txt' --resume -- 'wc -l {}'",
    );
    expect(resumeCommand(['run', 'm.yaml', '--resume'])).toBe('jobrun run m.yaml --resume');
  });

  it("hides a Redis URL's password among jobrun's flags, not in the job's command", () => {
    expect(
      resumeCommand([
        'run',
        'm.yaml',
        '--backend',
        'redis://user:s3cr%40t@10.0.0.5:6379/2',
        '--backend=rediss://:pw@host',
      ]),
    ).toBe(
      "jobrun run m.yaml --backend 'redis://user:***@10.0.0.5:6379/2' '--backend=rediss://:***@host' --resume",
    );
    expect(
      resumeCommand(['run', '--backend', 'redis://host:6379', '--', 'redis-cli -u redis://:pw@h']),
    ).toBe("jobrun run --backend redis://host:6379 --resume -- 'redis-cli -u redis://:pw@h'");
  });

  it("writes an argument that is not UTF-8 as $'…' with its bytes, a character as it is", () => {
    // \uDCFF: the byte 0xff (decodeBytes); \u{1F080}'s second half is \uDC80, not a byte
    expect(resumeCommand(['run', '--', 'cat {}', ':::', "b\uDCFF'\\", '\u{1F080}'])).toBe(
      "jobrun run --resume -- 'cat {}' ::: $'b\\xff\\'\\\\' '\u{1F080}'",
    );
  });
});
