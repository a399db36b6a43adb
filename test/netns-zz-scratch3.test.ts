import { it } from 'vitest';
import { join } from 'node:path';
import { readFileSync, copyFileSync } from 'node:fs';
import { SecretStore, principalPassword } from '../src/state/secrets.js';
import { Masker, Runner } from '../src/drivers/netns/exec.js';
import { Layout } from '../src/drivers/netns/layout.js';
import { getToken } from '../src/drivers/netns/client.js';
it('scratch3', async () => {
  const S = readFileSync('/tmp/scratch-state', 'utf8').trim();
  const L = new Layout('tproa.net', 'TPROA.NET', S);
  const tk = await getToken(new Runner(new Masker()), L, 'service-m1', 'kula', principalPassword(new SecretStore(join(S, 'secrets.json')), 'kula'));
  copyFileSync(tk.file!, join(S, 'netns/guests/service-m1/tmp/tk'));
});
