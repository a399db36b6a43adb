// A minimal QMP (QEMU Machine Protocol) client: one command per connection, which is all
// stopping a guest needs ("quit" when the guest did not power itself off).
import { connect } from 'node:net';

export interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

/**
 * Connects, negotiates capabilities, runs one command. A "quit" may see the connection close
 * before its reply: that counts as done.
 */
export function qmpCommand(socketPath: string, execute: string, args?: Record<string, unknown>, timeoutMs = 3_000): Promise<QmpReply> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let buf = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const done = (f: () => void) => {
      clearTimeout(timer);
      s.destroy();
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`QMP ${execute}: no answer within ${timeoutMs} ms`))), timeoutMs);
    s.on('error', (e) => done(() => reject(new Error(`QMP ${execute}: ${e.message}`))));
    s.on('close', () => done(() => (stage === 'command' && execute === 'quit' ? resolve({ return: {} }) : reject(new Error(`QMP ${execute}: connection closed`)))));
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as QmpReply & { QMP?: unknown; event?: string };
        if (msg.event) continue;
        if (stage === 'greeting' && msg.QMP) {
          stage = 'capabilities';
          s.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if (stage === 'capabilities' && ('return' in msg || msg.error)) {
          if (msg.error) return done(() => reject(new Error(`QMP qmp_capabilities: ${msg.error!.desc}`)));
          stage = 'command';
          s.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
        } else if (stage === 'command' && ('return' in msg || msg.error)) {
          return done(() => resolve(msg));
        }
      }
    });
  });
}
