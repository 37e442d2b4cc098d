// SPDX-License-Identifier: Apache-2.0
// localstack/docker-compose.yml read as data (no Docker engine here): the three
// services, how they wait for each other, and that what they agree on agrees.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { repo, read, parseDockerfile, run } from './helpers.mjs';

const text = read('localstack/docker-compose.yml');
const compose = parse(text);
const services = compose.services;

/** Compose's own interpolation, for the forms this file uses: ${VAR:-default}, ${VAR}, $$. */
function interpolate(v, env = {}) {
    if (typeof v !== 'string') {
        return v;
    }
    return v.replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}/g, (m, name, dflt) => {
        if (m === '$$') {
            return '$';
        }
        return env[name] ?? dflt ?? '';
    });
}
/** A service's environment as an object with the defaults compose would use. */
const envOf = (svc) => {
    const e = svc.environment ?? {};
    const pairs = Array.isArray(e) ? e.map((kv) => kv.split(/=(.*)/s).slice(0, 2)) : Object.entries(e);
    return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v === null ? '' : String(v))]));
};
const healthTest = (svc) => {
    const t = svc.healthcheck?.test;
    assert.ok(Array.isArray(t) && ['CMD', 'CMD-SHELL'].includes(t[0]), 'healthcheck test in exec or shell form');
    return t.slice(1).join(' ');
};

describe('localstack/docker-compose.yml', () => {
    test('is valid YAML with the SPDX header, and nothing else in the stack', () => {
        const doc = parseDocument(text);
        assert.deepEqual(doc.errors, []);
        assert.deepEqual(doc.warnings, []);
        assert.match(text.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        assert.equal(compose.version, undefined, 'the obsolete top-level "version" is left out');
        assert.deepEqual(Object.keys(services).sort(), ['api', 'init', 'localstack']);
    });

    test('localstack: a pinned 3.x image (runs without a token), DynamoDB, a health check', () => {
        const ls = services.localstack;
        assert.match(ls.image, /^localstack\/localstack:3\.\d+(\.\d+)?$/, `pinned 3.x: ${ls.image}`);
        assert.doesNotMatch(ls.image, /latest/);
        const env = envOf(ls);
        assert.equal(env.SERVICES, 'dynamodb');
        assert.ok('LOCALSTACK_AUTH_TOKEN' in env, 'the token for newer releases is passed through (empty by default)');
        assert.equal(env.LOCALSTACK_AUTH_TOKEN, '');
        assert.match(healthTest(ls), /_localstack\/health/);
        assert.match(healthTest(ls), /dynamodb/);
        assert.ok(ls.healthcheck.interval && ls.healthcheck.retries);
        for (const p of ls.ports ?? []) {
            assert.match(String(p), /^127\.0\.0\.1:/, 'LocalStack is published on loopback only');
        }
    });

    test('init: aws-cli, after LocalStack is healthy, creates the table if absent', () => {
        const init = services.init;
        assert.match(init.image, /^amazon\/aws-cli:\d+\.\d+\.\d+$/, `pinned: ${init.image}`);
        assert.deepEqual(init.depends_on, { localstack: { condition: 'service_healthy' } });
        const env = envOf(init);
        assert.equal(env.DYNAMODB_TABLE, 'items');
        assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1');
        assert.ok(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY, 'the CLI needs some credentials');
        const script = interpolate([].concat(init.entrypoint ?? [], init.command ?? []).join('\n'));
        assert.match(script, /--endpoint-url[= ]http:\/\/localstack:4566/);
        assert.match(script, /describe-table --table-name "\$DYNAMODB_TABLE"/, 'looks before creating');
        assert.match(script, /create-table --table-name "\$DYNAMODB_TABLE"/);
        assert.match(script, /AttributeName=id,AttributeType=S/);
        assert.match(script, /AttributeName=id,KeyType=HASH/);
        assert.match(script, /--billing-mode PAY_PER_REQUEST/);
        assert.match(script, /wait table-exists/);
        assert.ok(['no', undefined].includes(init.restart), 'a one-shot service');
    });

    test('api: built from the repository Dockerfile, 8080:8080, pointed at LocalStack', () => {
        const api = services.api;
        assert.equal(api.build.context, '..');
        assert.equal(api.build.dockerfile ?? 'Dockerfile', 'Dockerfile');
        assert.ok(existsSync(join(repo, 'localstack', api.build.context, 'Dockerfile')));
        const stages = parseDockerfile(read('Dockerfile')).map((s) => s.name);
        assert.ok(stages.includes(api.build.target), `target ${api.build.target} is a Dockerfile stage`);
        assert.notEqual(api.build.target, 'lambda');
        assert.deepEqual(api.ports.map(String), ['8080:8080']);
        const env = envOf(api);
        assert.equal(env.DYNAMODB_TABLE, 'items');
        assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1');
        assert.equal(env.DYNAMODB_ENDPOINT_URL, 'http://localstack:4566');
        assert.equal(env.AWS_ACCESS_KEY_ID, 'test');
        assert.equal(env.AWS_SECRET_ACCESS_KEY, 'test');
        assert.equal(env.DYNAMODB_TABLE, envOf(services.init).DYNAMODB_TABLE, 'api and init agree on the table');
        assert.equal(env.AWS_DEFAULT_REGION, envOf(services.init).AWS_DEFAULT_REGION);
    });

    test('api: starts after LocalStack is healthy and the table exists; its health check lists items', () => {
        const api = services.api;
        assert.deepEqual(api.depends_on, {
            localstack: { condition: 'service_healthy' },
            init: { condition: 'service_completed_successfully' },
        });
        const t = healthTest(api);
        assert.match(t, /curl/);
        assert.match(t, /http:\/\/127\.0\.0\.1:8080\/health/);
        assert.match(t, /-f/, 'curl fails on an HTTP error status');
        assert.ok(api.healthcheck.interval && api.healthcheck.retries);
    });

    test('.env.example documents the token and holds no secret', () => {
        const ex = read('localstack/.env.example');
        assert.match(ex.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
        assert.match(ex, /^LOCALSTACK_AUTH_TOKEN=$/m);
        const vars = Object.fromEntries(ex.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
        // every variable it sets is one the compose file reads
        for (const k of Object.keys(vars)) {
            assert.match(text, new RegExp(`\\$\\{${k}(:?-[^}]*)?\\}`), `${k} is used by docker-compose.yml`);
        }
        assert.equal(envOf({ environment: { S: '${LOCALSTACK_SERVICES:-dynamodb}' } }).S, vars.LOCALSTACK_SERVICES);
    });

    test('the shell in the services parses, and LocalStack\'s health check reads its health JSON right', (t) => {
        const init = services.init;
        const script = interpolate(init.command.join('\n'));
        const syntax = run('sh', ['-n', '-c', script]);
        assert.equal(syntax.status, 0, syntax.stderr);
        const hc = services.localstack.healthcheck.test;
        assert.equal(hc[0], 'CMD-SHELL');
        // a stand-in curl that prints what LocalStack's /_localstack/health would
        const bin = mkdtempSync(join(tmpdir(), 'mod-items-compose-'));
        t.after(() => rmSync(bin, { recursive: true, force: true }));
        writeFileSync(join(bin, 'curl'), '#!/bin/sh\nprintf %s "$HEALTH"\n', { mode: 0o755 });
        const check = (health) => run('sh', ['-c', interpolate(hc[1])], {
            env: { PATH: `${bin}:/usr/bin:/bin`, HEALTH: health },
        }).status;
        const body = (state) => JSON.stringify({ services: { dynamodb: state, s3: 'disabled' }, edition: 'community' }, null, 1);
        assert.equal(check(body('available')), 0);
        assert.equal(check(body('running')), 0);
        assert.equal(check(JSON.stringify({ services: { dynamodb: 'running' } })), 0, 'compact JSON too');
        assert.notEqual(check(body('initializing')), 0);
        assert.notEqual(check(body('disabled')), 0);
        assert.notEqual(check(''), 0);
    });
});
