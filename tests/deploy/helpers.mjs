// SPDX-License-Identifier: Apache-2.0
// Shared by the deployment tests: where the repository is, and small readers
// for the files they check (Terraform, the Dockerfile, .dockerignore).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const read = (rel) => readFileSync(join(repo, rel), 'utf8');

/** Every infra/*.tf parsed by @cdktf/hcl2json and merged: {resource, data, variable, output, ...}. */
export async function loadTerraform(dir = 'infra') {
    const { parse } = await import('@cdktf/hcl2json');
    const files = readdirSync(join(repo, dir)).filter((f) => f.endsWith('.tf')).sort();
    const merged = {};
    for (const f of files) {
        const doc = await parse(f, read(join(dir, f)));
        for (const [kind, byType] of Object.entries(doc)) {
            if (kind === 'locals' || kind === 'terraform' || kind === 'provider') {
                (merged[kind] ??= []).push(...[].concat(byType));
                continue;
            }
            merged[kind] ??= {};
            for (const [type, v] of Object.entries(byType)) {
                if (kind === 'resource' || kind === 'data') {
                    merged[kind][type] ??= {};
                    for (const [name, body] of Object.entries(v)) {
                        if (merged[kind][type][name]) {
                            throw new Error(`${kind} ${type}.${name} is declared twice`);
                        }
                        merged[kind][type][name] = body[0];
                    }
                } else {
                    if (merged[kind][type]) {
                        throw new Error(`${kind} ${type} is declared twice`);
                    }
                    merged[kind][type] = v[0];
                }
            }
        }
    }
    return { files, ...merged };
}

/** Runs a command; returns {status, stdout, stderr}. Never throws for a non-zero exit. */
export function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
    if (r.error) {
        return { status: -1, stdout: '', stderr: String(r.error) };
    }
    return r;
}

export function which(cmd) {
    const r = run('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
    return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Builds the module with scripts/build (as CI and the image do) in a build
 * directory of this test's own, build/deploy-<name>: a plain build whatever
 * build/ holds (a sanitizer build cannot be loaded by the system httpd), and
 * never a make running in a directory someone else is building in.
 * Returns {dir, so}; throws with the build's output when it fails.
 */
export function buildModule(name) {
    const dir = join(repo, 'build', `deploy-${name}`);
    const r = run('bash', [join(repo, 'scripts', 'build')], {
        cwd: repo,
        env: { ...process.env, ITEMS_BUILD_DIR: dir },
        timeout: 10 * 60 * 1000,
    });
    if (r.status !== 0) {
        throw new Error(`scripts/build (ITEMS_BUILD_DIR=${dir}) failed:\n${r.stdout}${r.stderr}`);
    }
    return { dir, so: join(dir, '.libs', 'mod_items.so') };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
    return new Promise((resolvePort, reject) => {
        const srv = createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolvePort(port));
        });
    });
}

/**
 * The Dockerfile as stages of instructions. Continuation lines are joined and
 * comments dropped; each instruction is {cmd, args, flags, line}, where flags
 * holds --name=value options (COPY --from=..., HEALTHCHECK --interval=...).
 */
export function parseDockerfile(text) {
    const lines = text.split('\n');
    const instrs = [];
    let buf = '';
    let start = 0;
    for (let i = 0; i < lines.length; i++) {
        const raw = lines[i];
        if (!buf && /^\s*(#|$)/.test(raw)) {
            continue;
        }
        if (buf && /^\s*#/.test(raw)) {
            continue; // a comment inside a continued instruction
        }
        if (!buf) {
            start = i + 1;
        }
        if (/\\\s*$/.test(raw)) {
            buf += raw.replace(/\\\s*$/, ' ');
            continue;
        }
        buf += raw;
        const m = buf.trim().match(/^(\S+)\s*(.*)$/s);
        instrs.push({ cmd: m[1].toUpperCase(), rest: m[2].trim(), line: start });
        buf = '';
    }
    const stages = [];
    for (const ins of instrs) {
        const flags = {};
        let rest = ins.rest;
        let fm;
        while ((fm = rest.match(/^--([a-z-]+)=(\S+)\s*/))) {
            flags[fm[1]] = fm[2];
            rest = rest.slice(fm[0].length);
        }
        const instr = { cmd: ins.cmd, args: rest, flags, line: ins.line };
        if (ins.cmd === 'FROM') {
            const fm2 = rest.match(/^(\S+)(?:\s+AS\s+(\S+))?\s*$/i);
            stages.push({ from: fm2[1], name: fm2[2] ?? null, instrs: [], line: ins.line });
        } else if (stages.length) {
            stages.at(-1).instrs.push(instr);
        } else if (ins.cmd !== 'ARG') {
            throw new Error(`line ${ins.line}: ${ins.cmd} before the first FROM`);
        }
    }
    return stages;
}

/** JSON (exec form) arguments of CMD/ENTRYPOINT/COPY, or null for the shell form. */
export function execForm(args) {
    if (!args.startsWith('[')) {
        return null;
    }
    return JSON.parse(args);
}

/** Package names given to `apt-get install` in a RUN instruction's text. */
export function aptPackages(runText) {
    const pkgs = [];
    for (const part of runText.split(/&&|;|\|\|/)) {
        const m = part.match(/\bapt-get\s+(?:-\S+\s+)*install\b(.*)$/s);
        if (!m) {
            continue;
        }
        for (const w of m[1].trim().split(/\s+/)) {
            if (w && !w.startsWith('-')) {
                pkgs.push(w);
            }
        }
    }
    return pkgs;
}

/**
 * A .dockerignore matcher with Docker's rules as far as this repository uses
 * them: patterns in order, the last one that matches the path or one of its
 * parent directories decides; '!' re-includes; '*' stays inside one path
 * segment, '**' spans any number of them.
 */
export function dockerignore(text) {
    const rules = text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => {
            const negate = l.startsWith('!');
            let pat = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
            let re = '';
            for (let i = 0; i < pat.length; i++) {
                const c = pat[i];
                if (c === '*' && pat[i + 1] === '*') {
                    re += '.*';
                    i++;
                    if (pat[i + 1] === '/') {
                        re = re.slice(0, -2) + '(?:.*/)?';
                        i++;
                    }
                } else if (c === '*') {
                    re += '[^/]*';
                } else if (c === '?') {
                    re += '[^/]';
                } else {
                    re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
                }
            }
            return { negate, re: new RegExp(`^${re}$`) };
        });
    return (path) => {
        const parts = path.replace(/^\.\/?/, '').replace(/\/+$/, '').split('/');
        const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
        let excluded = false;
        for (const r of rules) {
            if (prefixes.some((p) => r.re.test(p))) {
                excluded = !r.negate;
            }
        }
        return excluded;
    };
}
