// SPDX-License-Identifier: Apache-2.0
// Static checks of the Dockerfile (no Docker engine here), and one live check:
// the runtime stage's start command, run with the image's ENV on this
// machine's httpd, serves and logs to stdout/stderr as the image would.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
    existsSync, mkdtempSync, mkdirSync, rmSync, chmodSync, copyFileSync, readlinkSync, lstatSync, readFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
    repo, read, parseDockerfile, execForm, aptPackages, dockerignore, freePort, which, buildModule,
} from './helpers.mjs';

const stages = parseDockerfile(read('Dockerfile'));
const ignored = dockerignore(read('.dockerignore'));
const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name, s]));
const runtime = byName.get('runtime');
const build = byName.get('build');
const lambda = byName.get('lambda');

/** The stage and the stages it is built FROM, nearest first. */
function lineage(stage) {
    const out = [stage];
    while (byName.has(out.at(-1).from)) {
        out.push(byName.get(out.at(-1).from));
    }
    return out;
}

/** An instruction's last occurrence along a stage's lineage (what the image has). */
function effective(stage, cmd) {
    for (const s of lineage(stage)) {
        const hit = s.instrs.filter((i) => i.cmd === cmd).at(-1);
        if (hit) {
            return hit;
        }
    }
    return null;
}

/** ENV of a stage's lineage as an object (both KEY=value and legacy KEY value forms). */
function envOf(stage) {
    const env = {};
    for (const s of lineage(stage).reverse()) {
        for (const i of s.instrs.filter((x) => x.cmd === 'ENV')) {
            const pairs = i.args.match(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g);
            if (pairs) {
                for (const p of pairs) {
                    const k = p.slice(0, p.indexOf('='));
                    let v = p.slice(p.indexOf('=') + 1);
                    if (v.startsWith('"')) {
                        v = JSON.parse(v);
                    }
                    env[k] = v;
                }
            } else {
                const [k, ...v] = i.args.split(/\s+/);
                env[k] = v.join(' ');
            }
        }
    }
    return env;
}

const startCommand = () => {
    const cmd = effective(runtime, 'CMD');
    const entry = effective(runtime, 'ENTRYPOINT');
    return [entry, cmd].filter(Boolean).map((i) => execForm(i.args) ?? ['/bin/sh', '-c', i.args]).flat();
};

const COMPILERS = /^(gcc|g\+\+|cpp|clang.*|cc|c\+\+|build-essential|make|autoconf|automake|libtool|pkg-config|pkgconf|apache2-dev|binutils|.*-dev)(:.*)?$/;

describe('Dockerfile', () => {
    test('is multi-stage: build, runtime, lambda, and a plain default target', () => {
        assert.match(read('Dockerfile').split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        assert.match(read('.dockerignore').split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        assert.ok(stages.length >= 3, `only ${stages.length} stages`);
        assert.ok(build && runtime && lambda, 'stages named build, runtime and lambda');
        assert.equal(build.from, 'debian:bookworm');
        assert.equal(runtime.from, 'debian:bookworm-slim');
        assert.equal(lambda.from, 'runtime');
        const last = stages.at(-1);
        assert.notEqual(last, lambda, '`docker build .` must not give the Lambda variant');
        assert.ok(lineage(last).includes(runtime), 'the default target is built on runtime');
        assert.ok(!lineage(last).includes(lambda));
        assert.equal(last.instrs.length, 0, 'the default target adds nothing to runtime');
    });

    test('every base image is pinned (no :latest, no bare name)', () => {
        for (const s of stages) {
            if (byName.has(s.from)) {
                continue;
            }
            assert.match(s.from, /^[\w./-]+:[\w.-]+$/, `FROM ${s.from}`);
            assert.doesNotMatch(s.from, /:latest$/);
        }
    });

    test('the build stage installs the build tools and runs scripts/build', () => {
        const runs = build.instrs.filter((i) => i.cmd === 'RUN').map((i) => i.args);
        const pkgs = runs.flatMap(aptPackages);
        for (const p of ['build-essential', 'autoconf', 'automake', 'libtool', 'pkg-config',
            'apache2-dev', 'libcurl4-openssl-dev', 'libjansson-dev', 'libssl-dev']) {
            assert.ok(pkgs.includes(p), `build stage installs ${p}`);
        }
        assert.ok(runs.some((r) => /(^|\s|\/)scripts\/build(\s|$)/.test(r)), 'RUN scripts/build');
        assert.ok(!runs.some((r) => /\b(configure|make)\b/.test(r) && !/scripts\/build/.test(r)),
            'no second, hand-written build next to scripts/build');
    });

    test('the runtime stage has httpd and the runtime libraries, no compiler or -dev package', () => {
        for (const s of lineage(lambda)) {
            if (s === build) {
                continue;
            }
            const pkgs = s.instrs.filter((i) => i.cmd === 'RUN').flatMap((i) => aptPackages(i.args));
            for (const p of pkgs) {
                assert.doesNotMatch(p, COMPILERS, `stage ${s.name}: ${p} does not belong in a runtime image`);
            }
        }
        const pkgs = runtime.instrs.filter((i) => i.cmd === 'RUN').flatMap((i) => aptPackages(i.args));
        assert.ok(pkgs.includes('apache2') || pkgs.includes('apache2-bin'), 'httpd is installed');
        for (const p of ['libcurl4', 'libjansson4', 'libssl3', 'ca-certificates']) {
            assert.ok(pkgs.includes(p), `runtime installs ${p}`);
        }
        assert.ok(runtime.instrs.some((i) => i.cmd === 'RUN' && /rm -rf \/var\/lib\/apt\/lists/.test(i.args)),
            'apt lists are removed in the same layer');
    });

    test('every COPY source exists: a repository path the context lets in, or a stage/image', () => {
        let copies = 0;
        for (const s of stages) {
            for (const i of s.instrs.filter((x) => x.cmd === 'COPY' || x.cmd === 'ADD')) {
                copies++;
                assert.equal(i.cmd, 'COPY', `line ${i.line}: use COPY, not ADD`);
                const parts = execForm(i.args) ?? i.args.split(/\s+/);
                const sources = parts.slice(0, -1);
                assert.ok(sources.length >= 1, `line ${i.line}: COPY needs a source and a destination`);
                const from = i.flags.from;
                if (from) {
                    const stage = byName.get(from);
                    if (stage) {
                        assert.ok(stages.indexOf(stage) < stages.indexOf(s), `line ${i.line}: ${from} comes later`);
                    } else {
                        assert.match(from, /^[\w.-]+(\/[\w.-]+)+:[\w.-]+$/, `line ${i.line}: image ${from} is pinned`);
                        assert.doesNotMatch(from, /:latest$/);
                    }
                    continue;
                }
                for (const src of sources) {
                    assert.ok(existsSync(join(repo, src)), `line ${i.line}: ${src} is not in the repository`);
                    if (src !== '.' && src !== './') {
                        assert.ok(!ignored(src), `line ${i.line}: ${src} is excluded by .dockerignore`);
                    }
                }
            }
        }
        assert.ok(copies >= 3);
    });

    test('the build context holds what scripts/build needs and no build output', () => {
        for (const p of ['configure.ac', 'Makefile.am', 'scripts/build', 'conf/httpd.conf',
            'mod_items/mod_items.c', 'mod_items/items_ddb.c', 'LICENSE']) {
            assert.ok(!ignored(p), `${p} reaches the build`);
        }
        for (const p of ['build/.libs/mod_items.so', 'node_modules/dynalite/package.json', 'configure',
            'Makefile.in', 'infra/main.tf', '.git/config', 'infra/terraform.tfstate', 'mod_items/x.o']) {
            assert.ok(ignored(p), `${p} stays out of the build context`);
        }
        // every file that Makefile.am builds the module from is let in
        for (const m of read('Makefile.am').matchAll(/mod_items\/[\w.]+\.[ch]\b/g)) {
            assert.ok(!ignored(m[0]), `${m[0]} reaches the build`);
        }
    });

    test('the image serves conf/httpd.conf itself, unchanged', () => {
        const copy = runtime.instrs.find((i) => i.cmd === 'COPY' && /(^|\s)conf\/httpd\.conf\s/.test(i.args));
        assert.ok(copy, 'COPY conf/httpd.conf');
        const dest = (execForm(copy.args) ?? copy.args.split(/\s+/)).at(-1);
        assert.equal(dest, '/etc/mod_items/httpd.conf');
        const start = startCommand().join(' ');
        assert.match(start, /\bapache2\b.*-DFOREGROUND/, 'httpd in the foreground');
        assert.match(start, new RegExp(`-f ${dest.replace(/\./g, '\\.')}(\\s|"|$)`), `httpd -f ${dest}`);
        // nothing edits or replaces it afterwards
        for (const s of lineage(lambda)) {
            for (const i of s.instrs) {
                if (i === copy) {
                    continue;
                }
                assert.ok(!i.args.includes(dest) || i.cmd === 'CMD' || i.cmd === 'ENTRYPOINT',
                    `line ${i.line}: ${i.cmd} touches ${dest}`);
                assert.ok(!/\bsed\b.*httpd\.conf/.test(i.args), `line ${i.line}: httpd.conf is edited`);
            }
        }
        // and the e2e suite's config is the same file (nothing else named like a config is shipped)
        const confCopies = lineage(lambda).flatMap((s) => s.instrs)
            .filter((i) => i.cmd === 'COPY' && !i.flags.from && /\.conf\b/.test(i.args));
        assert.deepEqual(confCopies, [copy]);
    });

    test('ENV defines every variable conf/httpd.conf reads, with the deployment defaults', () => {
        const env = envOf(runtime);
        const directives = read('conf/httpd.conf').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
        const used = new Set([...directives.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
        assert.ok(used.size >= 8);
        for (const v of used) {
            assert.ok(env[v], `ENV ${v} is set in the image`);
        }
        assert.equal(env.ITEMS_LISTEN, '0.0.0.0:8080');
        assert.equal(env.ITEMS_RUN_DIR, '/tmp/mod_items');
        assert.equal(env.ITEMS_MODULES_DIR, '/usr/lib/apache2/modules');
        assert.equal(env.ITEMS_MPM, 'worker');
        const so = runtime.instrs.find((i) => i.cmd === 'COPY' && /mod_items\.so/.test(i.args));
        assert.equal(so.flags.from, 'build');
        assert.equal(so.args.split(/\s+/).at(-1), env.ITEMS_MODULE, 'ITEMS_MODULE is where the module is copied');
        assert.match(so.args, /^\/src\/build\/\.libs\/mod_items\.so\s/, 'the module scripts/build made');
        const user = env.ITEMS_USER;
        const runs = runtime.instrs.filter((i) => i.cmd === 'RUN').map((i) => i.args).join('\n');
        assert.match(runs, new RegExp(`useradd\\b[^\\n]*\\s${user}(\\s|$)`), `the image has the account ${user}`);
        assert.match(runs, new RegExp(`groupadd\\b[^\\n]*\\s${env.ITEMS_GROUP}(\\s|$)`));
    });

    test('runs as a non-root user, exposes 8080, has a HEALTHCHECK and logs to stdout/stderr', () => {
        const user = effective(runtime, 'USER');
        assert.ok(user, 'USER is set');
        const [u, g] = user.args.split(':');
        assert.ok(!['root', '0'].includes(u), `USER ${user.args}`);
        assert.ok(g === undefined || !['root', '0'].includes(g));
        assert.ok(lineage(lambda).flatMap((s) => s.instrs).filter((i) => i.cmd === 'USER').every(
            (i) => !/^(root|0)(:|$)/.test(i.args)), 'no later USER root');
        const expose = effective(runtime, 'EXPOSE');
        assert.ok(expose && /(^|\s)8080(\/tcp)?(\s|$)/.test(expose.args), 'EXPOSE 8080');
        const hc = effective(runtime, 'HEALTHCHECK');
        assert.ok(hc, 'HEALTHCHECK');
        assert.match(hc.args, /^CMD\s/);
        assert.match(hc.args, /http:\/\/127\.0\.0\.1:8080\/health"/);
        for (const f of ['interval', 'timeout', 'retries']) {
            assert.ok(hc.flags[f], `HEALTHCHECK --${f}`);
        }
        const start = startCommand().join(' ');
        assert.match(start, /link error\.log 2 \/dev\/stderr/);
        assert.match(start, /link access\.log 1 \/dev\/stdout/);
        assert.match(start, /ln -sf "\$3" "\$1"/);
        assert.match(start, /exec \/usr\/sbin\/apache2 /, 'httpd replaces the shell (signals, PID 1)');
        assert.match(read('conf/httpd.conf'), /ErrorLog "\$\{ITEMS_RUN_DIR\}\/error\.log"/,
            'conf/httpd.conf still logs where the image links to stderr');
        assert.match(read('conf/httpd.conf'), /CustomLog "\$\{ITEMS_RUN_DIR\}\/access\.log"/);
    });

    test('the lambda stage adds a pinned Lambda Web Adapter and configures it', () => {
        const add = lambda.instrs.find((i) => i.cmd === 'COPY' && /aws-lambda-adapter/.test(i.flags.from ?? ''));
        assert.ok(add, 'COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:<version>');
        assert.match(add.flags.from, /^public\.ecr\.aws\/awsguru\/aws-lambda-adapter:\d+\.\d+\.\d+$/);
        assert.equal(add.args, '/lambda-adapter /opt/extensions/lambda-adapter');
        const env = envOf(lambda);
        assert.equal(env.AWS_LWA_PORT, env.ITEMS_LISTEN.split(':').at(-1));
        assert.equal(env.AWS_LWA_READINESS_CHECK_PATH, '/health');
        // the stage prefix depends on the deployment: set by infra/, documented here
        assert.match(read('Dockerfile'), /AWS_LWA_REMOVE_BASE_PATH/);
        assert.equal(env.AWS_LWA_REMOVE_BASE_PATH, undefined);
    });
});

// --- live: the runtime stage's CMD on this machine's httpd -------------------

const apache2 = '/usr/sbin/apache2';
const liveSkip = !existsSync(apache2) ? `${apache2} is not installed`
    : !(which('apxs') || which('apxs2')) ? 'apxs is not installed (apache2-dev): the module cannot be built'
        : !which('bash') ? 'bash is not installed'
            : false;
let built;
const builtModule = () => (built ??= buildModule('image')).so;

/**
 * Runs the image's CMD with the image's ENV (paths of what the image copies
 * swapped for this checkout's), as an unprivileged user like the image's.
 * pipes: give httpd's stdout/stderr as pipes the user owns, as Docker does;
 * otherwise node's own stdio (sockets), which cannot be opened by name.
 */
async function startImage(t, { pipes }) {
    const env = envOf(runtime);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mod-items-image-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o777);
    // What the image copies, copied likewise (byte for byte) to where the
    // unprivileged user can read them whatever the checkout's permissions.
    for (const sub of ['etc', 'modules', 'docs', 'docs/ui', 'swagger-ui']) {
        mkdirSync(join(dir, sub), { mode: 0o755 });
    }
    for (const f of ['openapi.json', 'ui/index.html']) {
        copyFileSync(join(repo, 'docs', f), join(dir, 'docs', f));
        chmodSync(join(dir, 'docs', f), 0o644);
    }
    const conf = join(dir, 'etc', 'httpd.conf');
    copyFileSync(join(repo, 'conf', 'httpd.conf'), conf);
    copyFileSync(builtModule(), join(dir, 'modules', 'mod_items.so'));
    chmodSync(conf, 0o644);
    chmodSync(join(dir, 'modules', 'mod_items.so'), 0o644);
    const cmd = startCommand();
    assert.deepEqual(cmd.slice(0, 2), ['/bin/sh', '-ec']);
    const script = cmd[2].replaceAll('/etc/mod_items/httpd.conf', conf);
    const childEnv = {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        ...env,
        ITEMS_MODULE: join(dir, 'modules', 'mod_items.so'),
        ITEMS_LISTEN: `127.0.0.1:${port}`,
        ITEMS_RUN_DIR: join(dir, 'run'),
        ITEMS_EXTRA_CONF: join(dir, 'conf.d', '*.conf'),
        ITEMS_DOCS_DIR: join(dir, 'docs'),
        ITEMS_SWAGGER_UI_DIR: join(dir, 'swagger-ui'),
        // the image's account does not exist here; an unprivileged one stands in
        ITEMS_USER: 'nobody',
        ITEMS_GROUP: 'nogroup',
        DYNAMODB_TABLE: 'items',
        AWS_DEFAULT_REGION: 'us-east-1',
        DYNAMODB_ENDPOINT_URL: 'http://127.0.0.1:9', // nothing listens: the call fails fast
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    };
    let argv = pipes
        ? ['bash', '-c', 'exec > >(exec cat) 2> >(exec cat >&2); exec /bin/sh -ec "$0"', script]
        : ['/bin/sh', '-ec', script];
    if (process.getuid?.() === 0) {
        // unprivileged from the start, as the image's USER: httpd switches no user
        argv = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv];
    }
    const child = spawn(argv[0], argv.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const io = { out: '', err: '' };
    child.stdout.on('data', (d) => { io.out += d; });
    child.stderr.on('data', (d) => { io.err += d; });
    const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
    t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) {
            process.kill(-child.pid, 'SIGTERM');
            await exited;
        }
    });
    let res;
    for (let i = 0; i < 100 && !res; i++) {
        if (child.exitCode !== null) {
            assert.fail(`httpd exited ${child.exitCode}: ${io.err}`);
        }
        res = await fetch(`http://127.0.0.1:${port}/items/?limit=1`).catch(() => null);
        if (!res) {
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    assert.ok(res, `httpd did not answer: ${io.err}`);
    // DynamoDB is unreachable on purpose: mod_items answers a problem+json 5xx
    assert.ok(res.status >= 500 && res.status < 600, `status ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    await res.text();
    return { child, io, exited, runDir: join(dir, 'run') };
}

const ACCESS_LINE = /"GET \/items\/\?limit=1 HTTP\/1\.1" 5\d\d/;

test('the image start command serves conf/httpd.conf, logging to stdout and stderr', { skip: liveSkip, timeout: 60000 }, async (t) => {
    const { child, io, exited, runDir } = await startImage(t, { pipes: true });
    assert.equal(readlinkSync(join(runDir, 'error.log')), '/dev/stderr');
    assert.equal(readlinkSync(join(runDir, 'access.log')), '/dev/stdout');
    assert.ok(lstatSync(join(runDir, 'httpd.pid')).isFile());
    for (let i = 0; i < 50 && !ACCESS_LINE.test(io.out); i++) {
        await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(io.out, ACCESS_LINE, 'the access log reaches stdout');
    assert.doesNotMatch(io.err, /cannot open/);

    // the image's STOPSIGNAL stops httpd gracefully, and its error log says so on stderr
    const stopsig = effective(runtime, 'STOPSIGNAL')?.args ?? 'SIGTERM';
    assert.equal(stopsig, 'SIGWINCH');
    process.kill(-child.pid, stopsig);
    const { code } = await exited;
    assert.equal(code, 0, `httpd exit: ${io.err}`);
    assert.match(io.err, /AH00492|caught SIGWINCH/, `the error log reaches stderr: ${io.err}`);
});

test('where stdout/stderr cannot be opened by name, the image still starts and logs to files', { skip: liveSkip, timeout: 60000 }, async (t) => {
    const { io, runDir } = await startImage(t, { pipes: false });
    assert.match(io.err, /mod_items: cannot open \/dev\/stderr; logging to .*\/error\.log/);
    assert.match(io.err, /mod_items: cannot open \/dev\/stdout; logging to .*\/access\.log/);
    assert.ok(lstatSync(join(runDir, 'access.log')).isFile());
    let log = '';
    for (let i = 0; i < 50 && !ACCESS_LINE.test(log); i++) {
        await new Promise((r) => setTimeout(r, 100));
        log = readFileSync(join(runDir, 'access.log'), 'utf8');
    }
    assert.match(log, ACCESS_LINE);
});
