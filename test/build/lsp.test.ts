// The cell schema in an editor: yaml-language-server (the server behind VS Code's YAML extension),
// driven over LSP on stdio like an editor would, completes catalog names and flags a typo'd key.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../paths.js';

interface Message { id?: number; method?: string; params?: any; result?: any; error?: any }

/** A minimal LSP client: Content-Length framed JSON-RPC over the server's stdin/stdout. */
class Lsp {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private pending = new Map<number, (m: Message) => void>();
  private listeners: ((m: Message) => void)[] = [];
  constructor(private readonly p: ChildProcess) {
    p.stdout!.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const head = this.buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const len = Number(/Content-Length: (\d+)/i.exec(this.buf.subarray(0, head).toString())![1]);
        if (this.buf.length < head + 4 + len) return;
        const msg = JSON.parse(this.buf.subarray(head + 4, head + 4 + len).toString()) as Message;
        this.buf = this.buf.subarray(head + 4 + len);
        if (msg.id !== undefined && !msg.method) this.pending.get(msg.id)?.(msg);
        else if (msg.method && msg.id !== undefined) this.reply(msg); // a request from the server
        else for (const l of this.listeners) l(msg);
      }
    });
  }
  private write(m: object) {
    const s = JSON.stringify({ jsonrpc: '2.0', ...m });
    this.p.stdin!.write(`Content-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`);
  }
  /** Answers what the server asks (its configuration): the YAML settings an editor would send. */
  private reply(m: Message) {
    const result = m.method === 'workspace/configuration' ? m.params.items.map(() => ({ validate: true, completion: true, hover: true, schemaStore: { enable: false } })) : null;
    this.write({ id: m.id, result });
  }
  request(method: string, params: object): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result)));
      this.write({ id, method, params });
    });
  }
  notify(method: string, params: object) {
    this.write({ method, params });
  }
  next(method: string, pred: (params: any) => boolean): Promise<any> {
    return new Promise((resolve) => {
      const l = (m: Message) => {
        if (m.method === method && pred(m.params)) {
          this.listeners = this.listeners.filter((x) => x !== l);
          resolve(m.params);
        }
      };
      this.listeners.push(l);
    });
  }
}

const serverMain = join(dirname(createRequire(import.meta.url).resolve('yaml-language-server/package.json')), 'bin', 'yaml-language-server');

describe('yaml-language-server with the cell schema', () => {
  let server: ChildProcess;
  let lsp: Lsp;
  // A document in cells/, so the modeline's ../schemas/cell.schema.json is the repository's schema.
  const uri = pathToFileURL(join(ROOT, 'cells', 'editor-test.yaml')).href;
  const text = readFileSync(join(ROOT, 'cells', 'tproa.yaml'), 'utf8')
    .replace('    os: netbsd-4.0_beta\n', '    os: \n') // complete the host's OS here
    .replace(/ {4}kernel: netbsd-3\.1-xen3-domu-nodiag.*\n/, '    kernel: \n') // and the guest's kernel here
    .replace('    memory: 256\n', '    memroy: 256\n'); // a typo'd key
  const lines = text.split('\n');
  const at = (prefix: string) => {
    const line = lines.findIndex((l) => l.startsWith(prefix));
    return { line, character: prefix.length };
  };

  beforeAll(async () => {
    server = spawn(process.execPath, [serverMain, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    lsp = new Lsp(server);
    await lsp.request('initialize', {
      processId: process.pid, rootUri: pathToFileURL(ROOT).href,
      capabilities: { workspace: { configuration: true }, textDocument: { completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } }, publishDiagnostics: {} } },
    });
    lsp.notify('initialized', {});
    lsp.notify('workspace/didChangeConfiguration', { settings: { yaml: { validate: true, completion: true, hover: true, schemaStore: { enable: false } } } });
  });
  afterAll(async () => {
    await lsp.request('shutdown', {}).catch(() => undefined);
    lsp.notify('exit', {});
    server.kill();
  });

  it('flags the typo\'d key and completes catalog OS and kernel names', async () => {
    const diagnostics = lsp.next('textDocument/publishDiagnostics', (p) => p.uri === uri && p.diagnostics.length > 0);
    lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
    const d = await diagnostics;
    const typo = d.diagnostics.find((x: any) => /memroy/.test(x.message));
    expect(typo, JSON.stringify(d.diagnostics)).toBeDefined();
    expect(typo.range.start.line).toBe(at('    memroy').line);

    const os = await lsp.request('textDocument/completion', { textDocument: { uri }, position: at('    os: ') });
    const osLabels = (os.items ?? os).map((i: any) => i.label);
    expect(osLabels).toEqual(expect.arrayContaining(['netbsd-4.0_beta', 'debian-etch', 'linux-2.6']));
    expect(osLabels).not.toContain('netbsd-3.1'); // not a dom0 OS under any Xen release
    const item = (os.items ?? os).find((i: any) => i.label === 'netbsd-4.0_beta');
    expect(JSON.stringify(item.documentation)).toContain('dom0 under Xen 3.0.2');

    const kernel = await lsp.request('textDocument/completion', { textDocument: { uri }, position: at('    kernel: ') });
    expect((kernel.items ?? kernel).map((i: any) => i.label)).toEqual(expect.arrayContaining(['netbsd-3.1-xen3-domu-nodiag', 'linux-2.6.16-xen-3.0.2']));
  });
});
