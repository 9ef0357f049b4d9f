// Local TCP ports for the servers a benchmark starts (127.0.0.1 only); no side effects.
import net from 'node:net';

/** A port free on 127.0.0.1 right now. */
export const freePort = () =>
  new Promise((res, rej) => {
    const s = net.createServer().once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/** Whether something accepts connections on 127.0.0.1:`port`. */
export const connectable = (port) =>
  new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true))).once('error', () => res(false));
  });
