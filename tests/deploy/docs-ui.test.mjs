// SPDX-License-Identifier: Apache-2.0
// Swagger UI at /docs/, in a real browser: Debian's chromium driven by playwright-core
// (no browser download). dynalite and httpd (conf/httpd.conf, as the image and the e2e
// tests run it) on free loopback ports; the page lists the API's operations, "Try it out"
// on POST / creates an item, and the test finds that item through the API. Nothing is
// loaded from any other host. A screenshot is left in build/artifacts/docs-ui.png.
// Skipped only when chromium is not installed and cannot be installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run, which, freePort, buildModule } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const APACHE2 = '/usr/sbin/apache2';
const DYNALITE = join(repo, 'node_modules', '.bin', 'dynalite');
const SCREENSHOT = join(repo, 'build', 'artifacts', 'docs-ui.png');

/** chromium as Debian packages it: installed here if missing (root and apt-get), else a skip reason. */
function chromiumSkipReason() {
    if (existsSync(CHROMIUM)) {
        return false;
    }
    if (process.getuid?.() !== 0 || !which('apt-get')) {
        return `${CHROMIUM} is missing and cannot be installed here (needs root and apt-get)`;
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
        { env, timeout: 10 * 60 * 1000 });
    let r = install();
    if (r.status !== 0) {
        run('apt-get', ['update', '-qq'], { env, timeout: 5 * 60 * 1000 });
        r = install();
    }
    const said = (r.stderr || r.stdout || '').trim().split('\n').at(-1);
    return existsSync(CHROMIUM) ? false
        : `chromium could not be installed: apt-get install chromium exited ${r.status}${said ? `: ${said}` : ''}, `
            + `and ${CHROMIUM} is still missing`;
}

const skip = chromiumSkipReason();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, ms = 20000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn().catch(() => null);
        if (v) {
            return v;
        }
        if (Date.now() > end) {
            assert.fail(`timed out waiting for ${what}`);
        }
        await sleep(100);
    }
}

/** A DynamoDB call to dynalite, which checks the form of a signature but not its value. */
function dynamodb(url, op, body) {
    return fetch(url, {
        method: 'POST',
        headers: {
            'Content-Type': 'application/x-amz-json-1.0',
            'X-Amz-Target': `DynamoDB_20120810.${op}`,
            'X-Amz-Date': '20240101T000000Z',
            Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, '
                + `SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
        },
        body: JSON.stringify(body),
    });
}

/** dynalite with the items table, stopped after the test. */
async function startDynalite(t) {
    const port = await freePort();
    const child = spawn(DYNALITE, ['--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.on('exit', r));
    t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) {
            process.kill(-child.pid, 'SIGTERM');
            await exited;
        }
    });
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(`dynalite: ${out}`, async () => child.exitCode === null && /listening/i.test(out));
    const created = await dynamodb(url, 'CreateTable', {
        TableName: 'items', BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    });
    assert.equal(created.status, 200, await created.text());
    return url;
}

/** httpd with the built module and conf/httpd.conf, stopped (gracefully) after the test. */
async function startHttpd(t, module, endpoint) {
    const port = await freePort();
    const runDir = mkdtempSync(join(tmpdir(), 'mod-items-docs-ui-'));
    chmodSync(runDir, 0o755);
    // httpd's children (www-data) serve these: copy them where that user can reach them,
    // whatever the permissions of the checkout's path.
    cpSync(join(repo, 'docs'), join(runDir, 'docs'), { recursive: true });
    cpSync(join(repo, 'node_modules', 'swagger-ui-dist'), join(runDir, 'swagger-ui'), { recursive: true });
    const env = {
        ...process.env,
        ITEMS_MODULE: module,
        ITEMS_MODULES_DIR: '/usr/lib/apache2/modules',
        ITEMS_LISTEN: `127.0.0.1:${port}`,
        ITEMS_RUN_DIR: runDir,
        ITEMS_LOG_LEVEL: 'warn',
        ITEMS_MPM: 'worker',
        ITEMS_EXTRA_CONF: join(runDir, 'none-*.conf'),
        ITEMS_USER: 'www-data',
        ITEMS_GROUP: 'www-data',
        ITEMS_DOCS_DIR: join(runDir, 'docs'),
        ITEMS_SWAGGER_UI_DIR: join(runDir, 'swagger-ui'),
        DYNAMODB_TABLE: 'items',
        AWS_DEFAULT_REGION: 'us-east-1',
        DYNAMODB_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    };
    const conf = join(repo, 'conf', 'httpd.conf');
    const pidFile = join(runDir, 'httpd.pid');
    const pid = () => {
        try {
            return Number(readFileSync(pidFile, 'utf8').trim()) || null;
        } catch {
            return null;
        }
    };
    t.after(async () => {
        const p = pid();
        if (p) {
            try {
                process.kill(p, 'SIGWINCH'); // graceful stop
                await waitFor(`httpd ${p} to stop`, async () => {
                    try {
                        process.kill(p, 0);
                        return false;
                    } catch {
                        return true;
                    }
                });
            } catch (e) {
                if (e.code !== 'ESRCH') {
                    process.kill(p, 'SIGKILL');
                    throw e;
                }
            }
        }
        rmSync(runDir, { recursive: true, force: true });
    });
    const r = run(APACHE2, ['-f', conf, '-k', 'start'], { env, timeout: 30000 });
    const log = () => (existsSync(join(runDir, 'error.log')) ? readFileSync(join(runDir, 'error.log'), 'utf8') : '');
    assert.equal(r.status, 0, `httpd did not start: ${r.stderr}${log()}`);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`httpd on ${base}: ${log()}`, () => fetch(`${base}/items/?limit=1`).then((x) => x.ok));
    return { base, log };
}

test('Swagger UI at /docs/ lists the operations and creates an item with "Try it out"', {
    skip, timeout: 10 * 60 * 1000,
}, async (t) => {
    assert.ok(existsSync(APACHE2), `${APACHE2} is installed (scripts/deps)`);
    const { chromium } = await import('playwright-core');
    const module = buildModule('docs-ui').so;
    const endpoint = await startDynalite(t);
    const { base, log } = await startHttpd(t, module, endpoint);

    const profile = mkdtempSync(join(tmpdir(), 'mod-items-chromium-'));
    t.after(() => rmSync(profile, { recursive: true, force: true }));
    const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    t.after(() => browser.close());
    const page = browser.pages()[0] ?? await browser.newPage();
    const requested = [];
    page.on('request', (req) => requested.push(req.url()));
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    try {
        const nav = await page.goto(`${base}/docs`);
        assert.equal(nav.status(), 200);
        assert.equal(new URL(page.url()).pathname, '/docs/');

        // every operation of the document is listed
        await page.locator('.opblock').first().waitFor({ timeout: 30000 });
        const ops = await page.locator('.opblock .opblock-summary').evaluateAll((els) => els.map((el) => {
            const method = el.querySelector('.opblock-summary-method')?.textContent.trim();
            const path = el.querySelector('.opblock-summary-path')?.getAttribute('data-path');
            return `${method} ${path}`;
        }));
        assert.deepEqual(ops.sort(), ['DELETE /{id}', 'GET /', 'GET /{id}', 'HEAD /', 'HEAD /{id}', 'OPTIONS /',
            'OPTIONS /{id}', 'PATCH /{id}', 'POST /', 'PUT /{id}'].sort());
        // the server is the mount point the handler wrote into the document
        assert.match(await page.locator('.servers select, .servers').first().textContent(), /\/items/);

        // POST /: Try it out, with a body of our own, Execute
        const name = `docs-ui ${randomUUID()}`;
        const post = page.locator('#operations-items-createItem');
        await post.locator('.opblock-summary').click();
        await post.locator('button.try-out__btn').click();
        const body = post.locator('textarea.body-param__text');
        await body.fill(JSON.stringify({ name, description: 'created through Swagger UI' }, null, 2));
        const [answer] = await Promise.all([
            page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/items/'),
            post.locator('button.execute').click(),
        ]);
        assert.equal(answer.status(), 201);
        const created = await answer.json();
        assert.equal(created.name, name);
        // Swagger UI shows the answer too
        await post.locator('.live-responses-table tbody .response-col_status').first().waitFor();
        assert.match(await post.locator('.live-responses-table tbody .response-col_status').first().textContent(), /201/);
        mkdirSync(join(repo, 'build', 'artifacts'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });

        // the test finds the item through the API: by its id, and in the list
        const got = await fetch(`${base}/items/${encodeURIComponent(created.id)}`);
        assert.equal(got.status, 200);
        assert.deepEqual(await got.json(), { id: created.id, name, description: 'created through Swagger UI' });
        const list = await (await fetch(`${base}/items/?limit=1000`)).json();
        assert.ok(list.some((i) => i.id === created.id && i.name === name), 'the item is listed');

        // everything came from this server: no CDN, no other host
        const others = requested.filter((u) => !u.startsWith(`${base}/`));
        assert.deepEqual(others, [], 'requests to other hosts');
        assert.ok(requested.includes(`${base}/openapi.json`), 'the page read /openapi.json');
        assert.deepEqual(pageErrors, []);
    } catch (e) {
        mkdirSync(join(repo, 'build', 'artifacts'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
        t.diagnostic(`httpd error log:\n${log()}`);
        throw e;
    }
    assert.doesNotMatch(log(), /\[(items|core):(crit|error)\]/, log());
});
