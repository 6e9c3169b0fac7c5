// Browser end-to-end flows for the console.
//
// Starts `orbit serve` itself (ORBIT_BIN, default ../bin/orbit, built with
// `-tags embed` after `npm run build`), drives Debian's Chromium through
// playwright-core, and prints "N passed, N failed" at the end; the exit code
// is non-zero on any failure. Screenshots go to web/test-results/.
//
//   ORBIT_BIN=../bin/orbit npm run e2e
//   ORBIT_TEST_DATABASE_URL=postgres://… npm run e2e   (else embedded SQLite)
//   CHROMIUM=/usr/bin/chromium HEADED=1 npm run e2e
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');
const resultsDir = join(webDir, 'test-results');
const bin = resolve(webDir, process.env.ORBIT_BIN ?? '../bin/orbit');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const stepTimeout = 15_000;

// ---- a tiny runner: sequential steps, later ones skipped after a failure ----

const results = [];
let broken = false;

async function step(name, fn) {
  if (broken) {
    results.push({ name, status: 'skipped' });
    console.log(`  - ${name} (skipped)`);
    return;
  }
  const started = Date.now();
  try {
    await fn();
    results.push({ name, status: 'passed' });
    console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, status: 'failed' });
    broken = true;
    console.log(`  ✗ ${name}\n    ${String(err?.stack ?? err).split('\n').join('\n    ')}`);
    await shot(`FAILED-${slug(name)}`).catch(() => {});
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

// ---- server ----

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function startServer() {
  if (!existsSync(bin)) {
    throw new Error(
      `no orbit binary at ${bin}; build it with: npm run build && (cd .. && go build -tags embed -o bin/orbit ./cmd/orbit)`,
    );
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'orbit-e2e-'));
  const env = { ...process.env };
  delete env.ORBIT_DATABASE_URL;
  if (process.env.ORBIT_TEST_DATABASE_URL) env.ORBIT_DATABASE_URL = process.env.ORBIT_TEST_DATABASE_URL;
  const log = createWriteStream(join(resultsDir, 'server.log'));
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`orbit serve exited early (${JSON.stringify(exited)}); see test-results/server.log`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('orbit serve was not ready within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise((r) => (exited ? r() : child.once('exit', r)));
      clearTimeout(t);
    }
    // Instance nodes run in their own sessions and outlive `orbit serve` by
    // design; a run that failed before deleting its instance must not leave
    // them behind.
    spawnSync('pkill', ['-f', `data-dir ${dataDir}/`]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, stop };
}

// ---- the flows ----

let page;
async function shot(name) {
  // Finish CSS transitions (menu highlight, modal zoom) so the picture is what a person sees.
  if (page) await page.screenshot({ path: join(resultsDir, `${name}.png`), animations: 'disabled' });
}

// copyWithFocus clicks a copy button until it reports success. Chromium
// refuses clipboard writes from a document without focus, which a headless
// window can lose for a moment on a busy machine; the product reports that
// honestly (no "Copied"), so the test gives focus back and tries again.
async function copyWithFocus(button, copied) {
  for (let attempt = 1; ; attempt++) {
    await button.page().bringToFront();
    await button.page().evaluate(() => window.focus());
    await button.click();
    try {
      await copied.waitFor({ timeout: 5000 });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

// pollUntil checks cond until it holds, nudging with refresh (a Refresh
// button) whenever a check fails, a few seconds apart, up to timeout ms.
async function pollUntil(cond, refresh, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting until ${what}`);
    await refresh().catch(() => {});
    // Give the refresh time to answer before looking again.
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// runBench runs `orbit bench` (the binary the e2e serves with) as the Go
// client of the instance and returns its JSON report.
async function runBench(args) {
  const logRoot = mkdtempSync(join(tmpdir(), 'orbit-e2e-bench-'));
  try {
    const child = spawn(bin, ['bench', ...args], {
      env: { ...process.env, 'rocketmq.client.logRoot': logRoot, 'rocketmq.client.logLevel': 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise((ok) => child.on('close', ok));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`orbit bench exited with ${code}:\n${err.slice(-4000)}`);
    try {
      return JSON.parse(out);
    } catch {
      throw new Error(`orbit bench printed no JSON report:\n${out.slice(-2000)}\n${err.slice(-2000)}`);
    }
  } finally {
    rmSync(logRoot, { recursive: true, force: true });
  }
}

async function main() {
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  const server = await startServer();
  console.log(`orbit serve on ${server.base} (${process.env.ORBIT_TEST_DATABASE_URL ? 'Postgres' : 'SQLite'})`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: !process.env.HEADED,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const pageErrors = [];
  try {
    const context = await browser.newContext({
      baseURL: server.base,
      viewport: { width: 1366, height: 820 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    context.setDefaultTimeout(stepTimeout);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      // Chromium logs every non-2xx response; the flows cause some on purpose.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });

    const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const email = `e2e-${stamp}@orbit.test`;
    const password = `e2e-pass-${stamp}`;
    const accountName = `E2E Streaming ${stamp.slice(-6)}`;
    let secret = '';

    await step('a visitor is sent to the login page', async () => {
      await page.goto('/access/users');
      await page.waitForURL(/\/login\?next=%2Faccess%2Fusers$/);
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      await shot('login');
    });

    await step('sign-up shows server field errors under the fields', async () => {
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Your name').fill('E2E Owner');
      await page.getByLabel('Work email').fill(email);
      await page.getByLabel('Password').fill('password123');
      await page.getByLabel('Account name').fill(accountName);
      await page.getByRole('button', { name: 'Create account' }).click();
      // "password123" is long enough for the form but common: only the server knows.
      const err = page.locator('.ant-form-item-explain-error');
      await err.first().waitFor();
      await shot('signup-field-error');
    });

    await step('sign up lands in the shell showing the account', async () => {
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(/\/access\/users$/);
      await page.getByTestId('account-name').getByText(accountName).waitFor();
      await page.getByTestId('user-email').getByText(email).waitFor();
      await page.getByRole('cell', { name: email }).waitFor();
      await page.getByText('Owner').first().waitFor();
      await shot('users');
    });

    await step('a new account has no instances; billing is still a placeholder', async () => {
      await page.getByRole('menuitem', { name: 'Instances' }).click();
      await page.waitForURL(/\/instances$/);
      await page.getByText('No instances yet').waitFor();
      await shot('instances-empty');
      await page.getByRole('menuitem', { name: 'Usage & Bills' }).click();
      await page.waitForURL(/\/billing$/);
      await page.getByText('Coming in a later release').waitFor();
      await shot('billing');
    });

    await step('a reload keeps the session (refresh cookie)', async () => {
      await page.reload();
      await page.waitForURL(/\/billing$/);
      await page.getByTestId('user-email').getByText(email).waitFor();
    });

    await step('two tabs loading at once keep the session', async () => {
      // Each tab refreshes with the same rotating cookie; the refreshes take a
      // cross-tab lock so the second one does not look like token reuse.
      const tabs = await Promise.all([context.newPage(), context.newPage()]);
      await Promise.all(tabs.map((t) => t.goto('/access/users')));
      for (const t of tabs) await t.getByTestId('user-email').getByText(email).waitFor();
      await Promise.all(tabs.map((t) => t.close()));
      // The clipboard API needs a focused document: give focus back.
      await page.bringToFront();
      await page.reload();
      await page.getByTestId('user-email').getByText(email).waitFor();
    });

    await step('log out', async () => {
      await page.getByRole('button', { name: 'User menu' }).click();
      await page.getByRole('menuitem', { name: 'Log out' }).click();
      await page.waitForURL(/\/login$/);
      await page.goto('/access/tokens');
      await page.waitForURL(/\/login\?next=/);
    });

    await step('a wrong password is refused with the reason', async () => {
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: 'The email or password is wrong.' }).waitFor();
      await page.getByRole('alert').filter({ hasText: 'Request ID' }).waitFor();
    });

    await step('log in again and return to where you were going', async () => {
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/access\/tokens$/);
      await page.getByTestId('account-name').getByText(accountName).waitFor();
    });

    await step('create an API token and see its secret once', async () => {
      await page.getByRole('button', { name: 'Create token' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create API token' });
      await dialog.getByLabel('Name').fill('e2e automation');
      await dialog.getByRole('button', { name: 'Create token' }).click();
      const shown = page.getByRole('dialog', { name: 'API token created' });
      await shown.getByText('Copy this token now').waitFor();
      secret = (await shown.getByTestId('token-secret').innerText()).trim();
      assert(secret.length >= 20, `secret looks too short: ${secret.length} chars`);
      await copyWithFocus(shown.getByRole('button', { name: 'Copy token' }), shown.getByText('Copied', { exact: true }));
      const clip = await page.evaluate(() => navigator.clipboard.readText());
      assert(clip === secret, 'the clipboard holds the secret');
      await shot('token-created');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await shown.waitFor({ state: 'hidden' });
    });

    await step('the token is listed, without its secret', async () => {
      const row = page.getByRole('row').filter({ hasText: 'e2e automation' });
      await row.waitFor();
      const text = await row.innerText();
      assert(!text.includes(secret), 'the list does not show the secret');
      assert(/never/i.test(text), 'a new token was never used and does not expire');
      await shot('tokens');
    });

    await step('the token authenticates plain HTTP calls', async () => {
      const r = await fetch(`${server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
      assert(r.status === 200, `GET /api/v1/me answered ${r.status}`);
      const me = await r.json();
      assert(me.user.email === email, `GET /api/v1/me is ${me.user.email}, want ${email}`);
      assert(me.account.name === accountName, 'the token belongs to the account');
    });

    await step('invite a user and change their role', async () => {
      await page.getByRole('menuitem', { name: 'Users' }).click();
      await page.waitForURL(/\/access\/users$/);
      await page.getByRole('button', { name: 'Invite user' }).click();
      const dialog = page.getByRole('dialog', { name: 'Invite user' });
      await dialog.getByLabel('Email').fill(`invitee-${stamp}@orbit.test`);
      await dialog.getByLabel('Name').fill('Ivy Invitee');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      await dialog.getByRole('button', { name: 'Create user' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const row = page.getByRole('row').filter({ hasText: `invitee-${stamp}@orbit.test` });
      await row.waitFor();
      await row.locator('.ant-select').click();
      await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="Viewer"]').click();
      await page.getByText(/is now viewer/).waitFor();
      await shot('users-invited');
    });

    await step('removing a user asks first', async () => {
      const row = page.getByRole('row').filter({ hasText: `invitee-${stamp}@orbit.test` });
      await row.getByRole('button', { name: 'Remove' }).click();
      const confirm = page.getByRole('dialog').filter({ hasText: 'Remove Ivy Invitee?' });
      await confirm.getByRole('button', { name: 'Remove user' }).waitFor();
      await page.waitForTimeout(500); // let the dialog finish zooming in for the picture
      await shot('users-remove-confirm');
      await confirm.getByRole('button', { name: 'Remove user' }).click();
      await row.waitFor({ state: 'detached' });
    });

    await step('the audit log shows what happened and filters it', async () => {
      await page.getByRole('menuitem', { name: 'Audit log' }).click();
      await page.waitForURL(/\/access\/audit/);
      await page.getByRole('cell', { name: 'createToken' }).first().waitFor();
      await page.getByRole('cell', { name: 'createUser' }).first().waitFor();
      await shot('audit');
      await page.getByLabel('Action').fill('createToken');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/action=createToken/);
      await page.getByRole('cell', { name: 'createUser' }).waitFor({ state: 'detached' });
      await page.getByRole('cell', { name: 'createToken' }).first().waitFor();
    });

    await step('revoking a token asks first and stops it working', async () => {
      await page.getByRole('menuitem', { name: 'API tokens' }).click();
      const row = page.getByRole('row').filter({ hasText: 'e2e automation' });
      await row.getByRole('button', { name: 'Revoke' }).click();
      const confirm = page.getByRole('dialog').filter({ hasText: 'Revoke “e2e automation”?' });
      await confirm.getByRole('button', { name: 'Revoke token' }).click();
      await row.waitFor({ state: 'detached' });
      const r = await fetch(`${server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
      assert(r.status === 401, `a revoked token answered ${r.status}`);
    });

    const instanceName = `e2e-${stamp.slice(-6)}`;
    let endpoint = '';

    await step('create an instance in the wizard', async () => {
      await page.getByRole('menuitem', { name: 'Instances' }).click();
      await page.waitForURL(/\/instances$/);
      await page.getByRole('button', { name: 'Create instance' }).first().click();
      await page.waitForURL(/\/instances\/new$/);
      // The smallest spec starts chosen.
      const chosen = page.locator('.ant-table-row-selected');
      await chosen.waitFor();
      assert(/\/ month/.test(await chosen.innerText()), 'the spec table shows a monthly price');
      await shot('instance-create-spec');
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Instance name').fill(instanceName);
      assert((await page.getByLabel('Message retention (hours)').inputValue()) === '72', 'retention defaults to 72 h');
      await page.getByText('Synchronous', { exact: true }).click();
      await page.getByRole('button', { name: 'Next' }).click();
      const price = page.getByTestId('review-price');
      await price.waitFor();
      assert(/\$[\d,.]+ \/ month/.test(await price.innerText()), `review shows a monthly price: ${await price.innerText()}`);
      await shot('instance-create-review');
      await page.getByRole('button', { name: 'Create instance' }).click();
      await page.waitForURL((u) => /\/instances\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith('/new'));
      await page.getByTestId('instance-name').getByText(instanceName).waitFor();
    });

    await step('the instance becomes RUNNING by itself', async () => {
      // The reconciler starts a real `orbit node`; the page polls on its own.
      await page.getByTestId('instance-status').first().getByText('Running').waitFor({ timeout: 45_000 });
      endpoint = (await page.getByTestId('instance-endpoint').first().innerText()).trim();
      assert(/^[\w.\-[\]:]+:\d+$/.test(endpoint), `endpoint looks like host:port: ${endpoint}`);
      await page.getByTestId('snippet-go').getByText(`Endpoint: "${endpoint}"`).waitFor();
      await shot('instance-running');
    });

    await step('the endpoint accepts connections and copies to the clipboard', async () => {
      const i = endpoint.lastIndexOf(':');
      const host = endpoint.slice(0, i).replace(/^\[|\]$/g, '');
      await new Promise((ok, fail) => {
        const sock = connect({ host, port: Number(endpoint.slice(i + 1)) }, () => {
          sock.end();
          ok();
        });
        sock.setTimeout(5000, () => sock.destroy(new Error(`connecting to ${endpoint} timed out`)));
        sock.on('error', fail);
      });
      await copyWithFocus(
        page.getByRole('button', { name: 'Copy endpoint' }).first(),
        page.locator('[aria-label="Copy endpoint"][data-copy-state="copied"]').first(),
      );
      const clip = await page.evaluate(() => navigator.clipboard.readText());
      assert(clip === endpoint, `the clipboard holds the endpoint: ${clip}`);
    });

    await step('the list shows the instance running', async () => {
      await page.getByRole('menuitem', { name: 'Instances' }).click();
      await page.waitForURL(/\/instances$/);
      const row = page.getByRole('row').filter({ hasText: instanceName });
      await row.getByText('Running').waitFor();
      await row.getByText(endpoint).waitFor();
      await shot('instances');
      await row.getByRole('link', { name: instanceName }).click();
      await page.getByTestId('instance-name').getByText(instanceName).waitFor();
    });

    const topicName = `e2e-orders-${stamp.slice(-4)}`;
    const groupId = `e2e-billing-${stamp.slice(-4)}`;

    await step('create a topic in the Topics tab and see it listed', async () => {
      await page.getByRole('tab', { name: 'Topics' }).click();
      await page.getByText('No topics yet').waitFor();
      await page.getByRole('button', { name: 'Create topic' }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: 'Create topic' });
      await dialog.getByLabel('Topic name').fill(topicName);
      assert((await dialog.getByLabel('Queues').inputValue()) === '8', 'queues default to 8');
      await dialog.getByRole('button', { name: 'Create topic' }).click();
      const row = page.getByRole('row').filter({ hasText: topicName });
      await row.waitFor({ timeout: 30_000 });
      await row.getByText('Normal').waitFor();
      await shot('topics');
    });

    await step('create a consumer group in the Consumer groups tab and see it listed with its lag', async () => {
      await page.getByRole('tab', { name: 'Consumer groups' }).click();
      await page.getByRole('button', { name: 'Create group' }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: 'Create consumer group' });
      await dialog.getByLabel('Group ID').fill(groupId);
      await dialog.getByRole('button', { name: 'Create group' }).click();
      const row = page.getByRole('row').filter({ hasText: groupId });
      await row.waitFor({ timeout: 30_000 });
      await row.getByText('Concurrently').waitFor();
      await shot('groups');
      await row.getByRole('link', { name: groupId }).click();
      await page.getByTestId('group-id').getByText(groupId).waitFor();
      await page.getByText('Total lag').waitFor();
      await shot('group-detail');
      await page.getByRole('button', { name: 'Consumer groups' }).click();
      await page.getByRole('row').filter({ hasText: groupId }).waitFor();
    });

    let accessKey = { id: '', secret: '' };

    await step('create an access key; the secret is shown once', async () => {
      await page.getByRole('tab', { name: 'Access keys' }).click();
      await page.getByRole('button', { name: 'Create access key' }).click();
      const form = page.getByRole('dialog').filter({ hasText: 'Create access key' });
      await form.getByRole('button', { name: 'Create access key' }).click();
      const shown = page.getByRole('dialog').filter({ hasText: 'Access key created' });
      const secret = (await shown.getByTestId('access-key-secret').innerText()).trim();
      const ak = (await shown.getByTestId('access-key-id').innerText()).trim();
      assert(secret.length >= 16, `a secret key is shown: ${secret.length} characters`);
      // The form's default permissions (PUB and SUB on every topic, SUB on
      // every group) are what the Go client needs in a later step.
      accessKey = { id: ak, secret };
      await shot('access-key-created');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await shown.waitFor({ state: 'hidden' });
      const row = page.locator('.ant-table-row').filter({ hasText: ak });
      await row.waitFor();
      assert((await page.getByText(secret).filter({ visible: true }).count()) === 0, 'the secret is not shown again');
      // Back to the overview, where the instance's own actions are.
      await page.getByRole('tab', { name: 'Overview' }).click();
      await page.getByTestId('snippet-go').waitFor();
    });

    await step("see the group's lag after messages are sent by the Go client", async () => {
      assert(accessKey.id && accessKey.secret, 'the access key of the previous step');
      const auth = ['--endpoint', endpoint, '--access-key', accessKey.id, '--secret-key', accessKey.secret];
      const common = ['--topic', topicName, '--group', groupId, '--producers', '1', '--size', '64', '--output', 'json'];
      // The group subscribes and acknowledges everything: lag 0, and the
      // node now knows the group consumes the topic.
      const first = await runBench([...auth, ...common, '--consumers', '1', '--messages', '5']);
      assert(first.Sent === 5 && first.SendErrors === 0, `bench sent 5 without errors: ${JSON.stringify(first)}`);
      assert(first.Received === 5, `bench received 5: ${first.Received}`);
      // Send only: these 10 wait for the group.
      const second = await runBench([...auth, ...common, '--consumers', '0', '--messages', '10']);
      assert(second.Sent === 10 && second.SendErrors === 0, `bench sent 10 without errors: ${JSON.stringify(second)}`);

      await page.getByRole('tab', { name: 'Consumer groups' }).click();
      const row = page.getByRole('row').filter({ hasText: groupId });
      await row.waitFor();
      await pollUntil(
        () => page.getByTestId(`lag-${groupId}`).innerText().then((t) => t.trim() === '10', () => false),
        () => page.getByRole('button', { name: 'Refresh groups' }).click(),
        90_000,
        `the lag cell of ${groupId} shows 10`,
      );
      await shot('groups-lag');

      await row.getByRole('link', { name: groupId }).click();
      await page.getByTestId('group-id').getByText(groupId).waitFor();
      const total = page.locator('.ant-statistic').filter({ hasText: 'Total lag' });
      await pollUntil(
        () => total.innerText().then((t) => /\b10\b/.test(t), () => false),
        () => page.getByRole('button', { name: 'Refresh lag' }).click(),
        60_000,
        'the lag card shows a total of 10',
      );
      await page.getByRole('cell', { name: topicName }).first().waitFor();
      // The bench clients have left: the cards show who is still connected
      // (nobody, or the consumer until its heartbeat expires), never an error.
      const subs = page.getByTestId('subscriptions-card');
      await subs.locator('.ant-table-row').or(subs.getByText('No online consumers')).first().waitFor({ timeout: 30_000 });
      const conns = page.getByTestId('connections-card');
      await conns.locator('.ant-table-row').or(conns.getByText('No connected clients')).first().waitFor({ timeout: 30_000 });
      assert((await subs.getByRole('alert').count()) === 0, 'the subscriptions card shows no error');
      assert((await conns.getByRole('alert').count()) === 0, 'the connections card shows no error');
      await subs.scrollIntoViewIfNeeded();
      await shot('group-detail-clients');

      // The topic's queues hold the 15 messages sent.
      await page.getByRole('button', { name: 'Consumer groups' }).click();
      await page.getByRole('tab', { name: 'Topics' }).click();
      await page.getByRole('row').filter({ hasText: topicName }).getByRole('button', { name: topicName, exact: true }).click();
      const drawer = page.getByRole('dialog').filter({ hasText: `Topic “${topicName}”` });
      await drawer.getByTestId('topic-queues').locator('.ant-table-row').first().waitFor();
      assert((await drawer.getByTestId('topic-queues').locator('.ant-table-row').count()) === 8, 'the topic has 8 queues');
      await pollUntil(
        () => drawer.getByTestId('topic-message-count').innerText().then((t) => t.trim() === '15', () => false),
        () => drawer.getByRole('button', { name: 'Refresh queues' }).click(),
        30_000,
        'the topic retains 15 messages',
      );
      await shot('topic-queues');
      await drawer.getByRole('button', { name: 'Close' }).click();
      await drawer.waitFor({ state: 'hidden' });
      await page.getByRole('tab', { name: 'Overview' }).click();
      await page.getByTestId('snippet-go').waitFor();
    });

    await step('deleting needs the name typed, then the instance goes away', async () => {
      await page.getByRole('button', { name: 'Delete' }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: `Delete “${instanceName}”?` });
      const del = dialog.getByRole('button', { name: 'Delete instance' });
      await del.waitFor();
      assert(await del.isDisabled(), 'Delete is disabled before the name is typed');
      await dialog.getByLabel('Instance name to confirm').fill(instanceName.slice(0, -1));
      assert(await del.isDisabled(), 'Delete stays disabled for a wrong name');
      await dialog.getByLabel('Instance name to confirm').fill(instanceName);
      await page.waitForTimeout(300); // let the dialog finish zooming in for the picture
      await shot('instance-delete-confirm');
      await del.click();
      await page.waitForURL(/\/instances$/);
      await page.getByRole('row').filter({ hasText: instanceName }).waitFor({ state: 'detached', timeout: 45_000 });
      await page.getByText('No instances yet').waitFor();
    });

    await step('no errors in the browser console', async () => {
      assert(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
    });

    await context.close();
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
}

try {
  await main();
} catch (err) {
  results.push({ name: 'setup', status: 'failed' });
  console.log(`  ✗ setup\n    ${String(err?.stack ?? err)}`);
}
const count = (s) => results.filter((r) => r.status === s).length;
const skipped = count('skipped');
console.log(`${count('passed')} passed, ${count('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(count('failed') > 0 ? 1 : 0);
