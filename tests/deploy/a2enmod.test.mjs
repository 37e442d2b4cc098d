// SPDX-License-Identifier: Apache-2.0
// The Debian a2enmod layout: conf/items.load and conf/items.conf checked
// against the module's sources, then (as root on a Debian with /etc/apache2)
// a real install into the system apache2: `make install`, `a2enmod items`,
// the example site on a free loopback port, apache2ctl start, an item created
// and read back through it from dynalite, and everything put back afterwards.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
    existsSync, readFileSync, writeFileSync, lstatSync, readlinkSync, unlinkSync, symlinkSync,
    rmSync, rmdirSync, readdirSync, statSync, chmodSync, mkdirSync, mkdtempSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repo, read, run, which, freePort, buildModule } from './helpers.mjs';

// --- the files, against the module's sources ---------------------------------

/** Directives and their help text from the command_rec table in mod_items_config.c. */
function directives() {
    const src = read('mod_items/mod_items_config.c');
    const out = new Map();
    for (const m of src.matchAll(/AP_INIT_\w+\(\s*"(\w+)"\s*,[^"]*"((?:[^"\\]|\\.|"\s*")*)"\s*\)/g)) {
        out.set(m[1], m[2].replace(/"\s*"/g, ''));
    }
    return out;
}

describe('conf/ for Debian\'s a2enmod', () => {
    test('items.load loads the module from where `make install` puts it', () => {
        const text = read('conf/items.load');
        assert.match(text.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
        assert.deepEqual(lines, ['LoadModule items_module /usr/lib/apache2/modules/mod_items.so']);
        assert.match(read('mod_items/mod_items.c'), /AP_DECLARE_MODULE\(items\)/, 'the symbol is items_module');
        const apxs = which('apxs') ?? which('apxs2');
        if (apxs) {
            const libexec = run(apxs, ['-q', 'LIBEXECDIR']).stdout.trim();
            assert.equal(`${libexec}/mod_items.so`, lines[0].split(/\s+/)[2], 'apxs -q LIBEXECDIR agrees');
        }
    });

    test('items.conf documents every directive, commented out at its default', () => {
        const text = read('conf/items.conf');
        assert.match(text.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        const dirs = directives();
        assert.ok(dirs.size >= 8, `found ${[...dirs.keys()]}`);
        for (const line of text.split('\n')) {
            assert.doesNotMatch(line, /^\s*Items\w+\s/, `an active directive: ${line.trim()}`);
            assert.doesNotMatch(line, /^\s*SetHandler\b/, 'nothing is served just by enabling the module');
        }
        const commented = new Map([...text.matchAll(/^\s*#(Items\w+)\s+(\S+)\s*$/gm)].map((m) => [m[1], m[2]]));
        assert.deepEqual([...commented.keys()].sort(), [...dirs.keys()].sort(), 'the same directives as the module');
        for (const [name, help] of dirs) {
            const d = help.match(/\(default (\d+)s?\)/);
            if (d) {
                assert.equal(commented.get(name), d[1], `${name}: the module's default is ${d[1]}`);
            }
        }
        assert.equal(commented.get('ItemsTable'), 'items');
        assert.equal(commented.get('ItemsRegion'), 'us-east-1');
        assert.match(commented.get('ItemsEndpoint'), /^https?:\/\//);
        const priv = read('mod_items/mod_items_private.h');
        const def = (n) => priv.match(new RegExp(`#define ITEMS_DEFAULT_${n}\\s+(.+)`))[1].trim();
        assert.equal(commented.get('ItemsListDefault'), def('LIST_LIMIT'));
        assert.equal(commented.get('ItemsListMax'), def('LIST_MAX'));
        assert.equal(Number(commented.get('ItemsMaxBodySize')), Function(`return ${def('MAX_BODY')}`)());
        assert.equal(`apr_time_from_sec(${commented.get('ItemsConnectTimeout')})`, def('CONNECT_TIMEOUT'));
        assert.equal(`apr_time_from_sec(${commented.get('ItemsTimeout')})`, def('TIMEOUT'));
        // the environment fallbacks the module reads are named
        const env = read('mod_items/mod_items.c') + read('mod_items/items_creds.c');
        for (const v of env.matchAll(/"((?:DYNAMODB|AWS)_[A-Z_]+)"/g)) {
            assert.match(text, new RegExp(`\\b${v[1]}\\b`), `${v[1]} is documented`);
        }
        assert.match(text, /^\s*#<Location "\/items">\s*$/m);
        assert.match(text, /^\s*#\s*SetHandler items\s*$/m);
        assert.match(text, /^\s*#<\/Location>\s*$/m);
    });

    test('items-site.conf.example mounts the API in a virtual host', () => {
        const text = read('conf/items-site.conf.example');
        assert.match(text.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        assert.match(text, /^<VirtualHost \*:80>$/m);
        assert.match(text, /^\s+<Location "\/items">\n\s+SetHandler items\n\s+Require all granted\n\s+<\/Location>$/m);
        assert.match(text, /^<\/VirtualHost>$/m);
        assert.match(text, /a2enmod items/);
        assert.ok(/install-data-local:[\s\S]*conf\/items\.load[\s\S]*conf\/items\.conf/.test(read('Makefile.am')),
            '`make install` ships items.load and items.conf');
    });
});

// --- live: the real system apache2 -------------------------------------------

const ETC = '/etc/apache2';
const SITE = 'mod-items-test';
const dynaliteBin = join(repo, 'node_modules', '.bin', 'dynalite');
const PY = '/usr/bin/python3'; // Debian's: python3-boto3 is importable only from it

function pidAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return e.code === 'EPERM';
    }
}

function systemApachePid() {
    for (const f of ['/var/run/apache2/apache2.pid', '/run/apache2/apache2.pid']) {
        try {
            const pid = Number(readFileSync(f, 'utf8').trim());
            if (pid > 0 && pidAlive(pid)) {
                return pid;
            }
        } catch {
            // no pid file: not running
        }
    }
    return null;
}

function liveSkipReason() {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
        return 'needs root: it installs mod_items into the system apache2';
    }
    if (!existsSync(ETC) || !existsSync(join(ETC, 'mods-available'))) {
        return `no ${ETC}/mods-available: not Debian's apache2 layout`;
    }
    for (const tool of ['a2enmod', 'a2dismod', 'a2ensite', 'a2dissite', 'apache2ctl', 'make']) {
        if (!which(tool)) {
            return `${tool} is not installed`;
        }
    }
    if (!existsSync(dynaliteBin)) {
        return 'node_modules/.bin/dynalite is missing (npm ci)';
    }
    if (run(PY, ['-c', 'import boto3']).status !== 0) {
        return `${PY} cannot import boto3 (Debian package python3-boto3)`;
    }
    const pid = systemApachePid();
    if (pid) {
        return `the system apache2 is running (pid ${pid}): this test will not touch it`;
    }
    return false;
}

/** What a path is now (absent, file with content and mode, symlink, directory), to put it back later. */
function capture(path) {
    let st;
    try {
        st = lstatSync(path);
    } catch {
        return { path, kind: 'absent' };
    }
    if (st.isSymbolicLink()) {
        return { path, kind: 'link', target: readlinkSync(path) };
    }
    if (st.isDirectory()) {
        return { path, kind: 'dir' };
    }
    return { path, kind: 'file', data: readFileSync(path), mode: st.mode & 0o7777 };
}

function putBack(snap) {
    const now = capture(snap.path);
    if (snap.kind === 'dir') {
        return; // directories that were there stay; their files are captured one by one
    }
    if (now.kind === 'dir') {
        // created by the test (a2enmod's marker directories): remove it if it is empty
        if (snap.kind === 'absent' && readdirSync(snap.path).length === 0) {
            rmdirSync(snap.path);
        }
        return;
    }
    if (now.kind !== 'absent') {
        unlinkSync(snap.path);
    }
    if (snap.kind === 'link') {
        symlinkSync(snap.target, snap.path);
    } else if (snap.kind === 'file') {
        writeFileSync(snap.path, snap.data);
        chmodSync(snap.path, snap.mode);
    }
}

/** Every file and directory this test may create or change. */
function touchedPaths(libexec) {
    const paths = [
        join(libexec, 'mod_items.so'),
        join(ETC, 'mods-available', 'items.load'),
        join(ETC, 'mods-available', 'items.conf'),
        join(ETC, 'mods-enabled', 'items.load'),
        join(ETC, 'mods-enabled', 'items.conf'),
        join(ETC, 'sites-available', `${SITE}.conf`),
        join(ETC, 'sites-enabled', `${SITE}.conf`),
        join(ETC, 'ports.conf'),
        '/var/log/apache2/items-error.log',
        '/var/log/apache2/items-access.log',
    ];
    // a2enmod/a2ensite keep "enabled/disabled by admin/maint" markers here
    for (const kind of ['module', 'site']) {
        for (const state of ['enabled_by_admin', 'disabled_by_admin', 'enabled_by_maint', 'disabled_by_maint']) {
            const dir = join('/var/lib/apache2', kind, state);
            paths.push(dir, join(dir, kind === 'module' ? 'items' : SITE));
        }
    }
    // apache2ctl creates these run-time directories when they are missing
    paths.push('/var/run/apache2', '/var/lock/apache2');
    return paths;
}

async function waitFor(what, fn, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) {
            return v;
        }
        if (Date.now() > end) {
            assert.fail(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

const liveSkip = liveSkipReason();

test('installed into the system apache2 with a2enmod, the example site serves items from DynamoDB', {
    skip: liveSkip, timeout: 15 * 60 * 1000,
}, async (t) => {
    const log = (msg) => t.diagnostic(msg);
    const sh = (cmd, args, opts = {}) => {
        const r = run(cmd, args, { timeout: 10 * 60 * 1000, ...opts });
        return { ...r, text: `${cmd} ${args.join(' ')} -> ${r.status}\n${r.stdout}${r.stderr}` };
    };

    // 1. build, as CI and the Docker image do
    const buildDir = buildModule('a2enmod').dir;
    const libexec = run(which('apxs') ?? which('apxs2') ?? 'apxs', ['-q', 'LIBEXECDIR']).stdout.trim();
    assert.ok(libexec.startsWith('/'), `apxs -q LIBEXECDIR: ${libexec}`);

    // 2. remember the system's state; put it back whatever happens below
    const snaps = touchedPaths(libexec).map(capture);
    const envDynamo = {};
    let dynalite = null;
    let httpdStarted = false;
    t.after(async () => {
        const problems = [];
        const step = async (what, fn) => {
            try {
                await fn();
            } catch (e) {
                problems.push(`${what}: ${e.message}`);
            }
        };
        if (httpdStarted) {
            await step('apache2ctl stop', async () => {
                const pid = systemApachePid();
                run('apache2ctl', ['stop'], { env: { ...process.env, ...envDynamo } });
                if (pid) {
                    await waitFor('the system apache2 to stop', () => !pidAlive(pid), 20000);
                }
            });
        }
        if (dynalite && dynalite.exitCode === null) {
            await step('dynalite', async () => {
                const gone = new Promise((r) => dynalite.once('exit', r));
                dynalite.kill('SIGTERM');
                await gone;
            });
        }
        await step('a2dissite', () => run('a2dissite', ['-q', '-p', SITE]));
        await step('a2dismod', () => run('a2dismod', ['-q', '-p', '-f', 'items']));
        await step('make uninstall', () => run('make', ['-C', buildDir, '--no-print-directory', 'uninstall']));
        // files before directories, so that marker directories are empty when checked
        for (const s of [...snaps].reverse().sort((a, b) => (a.kind === 'dir') - (b.kind === 'dir'))) {
            await step(`restore ${s.path}`, () => putBack(s));
        }
        for (const s of snaps.filter((x) => x.kind === 'absent')) {
            // run-time directories apache2ctl created: removed only when the test created them
            if (existsSync(s.path) && statSync(s.path).isDirectory()) {
                await step(`remove ${s.path}`, () => rmSync(s.path, { recursive: true, force: true }));
            }
        }
        const left = snaps.filter((s) => s.kind !== 'dir' && JSON.stringify(capture(s.path)) !== JSON.stringify(s));
        for (const s of left) {
            problems.push(`${s.path} is not as it was`);
        }
        if (problems.length) {
            throw new Error(`the system was not fully restored:\n${problems.join('\n')}`);
        }
    });

    // 3. install and enable the module the Debian way
    const install = sh('make', ['-C', buildDir, '--no-print-directory', 'install']);
    assert.equal(install.status, 0, install.text);
    assert.ok(existsSync(join(libexec, 'mod_items.so')), 'make install put mod_items.so in place');
    for (const f of ['items.load', 'items.conf']) {
        assert.equal(readFileSync(join(ETC, 'mods-available', f), 'utf8'), read(join('conf', f)), `mods-available/${f}`);
    }
    const enmod = sh('a2enmod', ['-q', 'items']);
    assert.equal(enmod.status, 0, enmod.text);
    assert.equal(readlinkSync(join(ETC, 'mods-enabled', 'items.load')), '../mods-available/items.load');
    assert.equal(readlinkSync(join(ETC, 'mods-enabled', 'items.conf')), '../mods-available/items.conf');

    // 4. the example site, on a free loopback port; only that port is listened on
    const port = await freePort();
    const example = read('conf/items-site.conf.example');
    const site = example.replace('<VirtualHost *:80>', `<VirtualHost 127.0.0.1:${port}>`);
    assert.notEqual(site, example);
    writeFileSync(join(ETC, 'sites-available', `${SITE}.conf`), site);
    const ensite = sh('a2ensite', ['-q', SITE]);
    assert.equal(ensite.status, 0, ensite.text);
    writeFileSync(join(ETC, 'ports.conf'), `# ${SITE}: written by tests/deploy/a2enmod.test.mjs, restored afterwards\nListen 127.0.0.1:${port}\n`);

    // 5. DynamoDB: dynalite on another free port, with the table
    const dport = await freePort();
    dynalite = spawn(dynaliteBin, ['--host', '127.0.0.1', '--port', String(dport), '--createTableMs', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let dynaliteOut = '';
    dynalite.stdout.on('data', (d) => { dynaliteOut += d; });
    dynalite.stderr.on('data', (d) => { dynaliteOut += d; });
    await waitFor(`dynalite on ${dport}: ${dynaliteOut}`, () => /listening/i.test(dynaliteOut) || dynalite.exitCode !== null);
    assert.equal(dynalite.exitCode, null, dynaliteOut);
    Object.assign(envDynamo, {
        DYNAMODB_TABLE: 'items-a2enmod',
        AWS_DEFAULT_REGION: 'us-east-1',
        DYNAMODB_ENDPOINT_URL: `http://127.0.0.1:${dport}`,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    });
    const boto = (code, extra = {}) => sh(PY, ['-c', `
import json, os, boto3
ddb = boto3.client('dynamodb', endpoint_url=os.environ['DYNAMODB_ENDPOINT_URL'],
                   region_name=os.environ['AWS_DEFAULT_REGION'])
table = os.environ['DYNAMODB_TABLE']
${code}`], { env: { ...process.env, ...envDynamo, ...extra, PYTHONPATH: '' } });
    const created = boto(`ddb.create_table(TableName=table, BillingMode='PAY_PER_REQUEST',
    AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'S'}],
    KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}])
ddb.get_waiter('table_exists').wait(TableName=table, WaiterConfig={'Delay': 1, 'MaxAttempts': 20})`);
    assert.equal(created.status, 0, created.text);

    // 6. the module's environment reaches httpd through apache2ctl: envvars must not clear it
    const probe = sh('sh', ['-c', `. ${ETC}/envvars; for v in ${Object.keys(envDynamo).join(' ')}; do eval "printf '%s=%s\\n' $v \\"\\$$v\\""; done`],
        { env: { PATH: process.env.PATH, APACHE_CONFDIR: ETC, ...envDynamo } });
    assert.equal(probe.status, 0, probe.text);
    assert.deepEqual(Object.fromEntries(probe.stdout.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2))), envDynamo,
        `${ETC}/envvars keeps the variables mod_items reads`);
    // apache2ctl hands "start" to systemctl when systemd is PID 1 (and systemd would not pass
    // this environment on): this test runs httpd itself, as apache2ctl does without systemd.
    const ctlEnv = { ...process.env, ...envDynamo, APACHE_STARTED_BY_SYSTEMD: '1' };

    // 7. configtest, start
    const configtest = sh('apache2ctl', ['configtest'], { env: ctlEnv });
    assert.equal(configtest.status, 0, configtest.text);
    assert.match(configtest.stderr + configtest.stdout, /Syntax OK/);
    const loaded = sh('apache2ctl', ['-M'], { env: ctlEnv });
    assert.match(loaded.stdout, /^\s*items_module \(shared\)$/m, 'apache2ctl -M lists items_module');
    const start = sh('apache2ctl', ['start'], { env: ctlEnv });
    httpdStarted = true;
    assert.equal(start.status, 0, start.text);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`the system apache2 on ${base}`, () => fetch(`${base}/`).then(() => true, () => false));

    // 8. the API through the system httpd
    try {
        const post = await fetch(`${base}/items/`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Test' }),
        });
        const created = await post.json();
        assert.equal(post.status, 201, JSON.stringify(created));
        assert.equal(created.name, 'Test');
        assert.match(created.id, /^[\w-]{8,}$/);
        assert.equal(post.headers.get('location'), `/items/${created.id}`);

        const get = await fetch(`${base}/items/${created.id}`);
        assert.equal(get.status, 200);
        assert.deepEqual(await get.json(), created);

        const list = await fetch(`${base}/items/?limit=5`);
        assert.equal(list.status, 200);
        assert.match(JSON.stringify(await list.json()), new RegExp(created.id));

        // it really is in the table the environment named
        const stored = boto(`print(json.dumps(ddb.get_item(TableName=table, Key={'id': {'S': os.environ['ITEM_ID']}}).get('Item')))`,
            { ITEM_ID: created.id });
        assert.equal(stored.status, 0, stored.text);
        assert.equal(JSON.parse(stored.stdout).name.S, 'Test');

        // the site's own logs, in Debian's log directory
        const access = await waitFor('the access log line', () => {
            const f = '/var/log/apache2/items-access.log';
            return existsSync(f) && /"POST \/items\/ HTTP\/1\.1" 201/.test(readFileSync(f, 'utf8'));
        });
        assert.ok(access);
    } catch (e) {
        for (const f of ['/var/log/apache2/items-error.log', '/var/log/apache2/error.log']) {
            if (existsSync(f)) {
                log(`${f}:\n${readFileSync(f, 'utf8').split('\n').slice(-20).join('\n')}`);
            }
        }
        throw e;
    }
    const errors = existsSync('/var/log/apache2/items-error.log') ? readFileSync('/var/log/apache2/items-error.log', 'utf8') : '';
    assert.doesNotMatch(errors, /\[items:(crit|error|warn)\]/, errors);
});

// a sanity check of the restore logic itself, wherever the test can write
test('capture/putBack restore files, links and absences', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mod-items-restore-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, 'f');
    const l = join(dir, 'l');
    const a = join(dir, 'a');
    const d = join(dir, 'd');
    writeFileSync(f, 'before');
    chmodSync(f, 0o640);
    symlinkSync('../x', l);
    const snaps = [f, l, a, d].map(capture);
    writeFileSync(f, 'after');
    unlinkSync(l);
    symlinkSync('../y', l);
    writeFileSync(a, 'new');
    mkdirSync(d);
    for (const s of snaps) {
        putBack(s);
    }
    assert.equal(readFileSync(f, 'utf8'), 'before');
    assert.equal(statSync(f).mode & 0o777, 0o640);
    assert.equal(readlinkSync(l), '../x');
    assert.ok(!existsSync(a));
    assert.ok(!existsSync(d));
});
