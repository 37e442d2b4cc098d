// SPDX-License-Identifier: Apache-2.0
// docs/openapi.json: valid OpenAPI 3.1 for a real validator (@apidevtools/swagger-parser),
// and complete for the API the README describes: every route and method, every status the
// module answers, the headers, the problem+json and item schemas. Where the image and the
// standalone config find it is checked too.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { repo, read, parseDockerfile } from './helpers.mjs';
import { join } from 'node:path';

const FILE = join(repo, 'docs', 'openapi.json');
const raw = read('docs/openapi.json');
const doc = JSON.parse(raw);
const copy = () => JSON.parse(raw);

/** Follows local $refs ("#/components/..."). */
function deref(node) {
    const seen = new Set();
    while (node && typeof node === 'object' && typeof node.$ref === 'string') {
        assert.ok(node.$ref.startsWith('#/'), `local $ref: ${node.$ref}`);
        assert.ok(!seen.has(node.$ref), `$ref loop at ${node.$ref}`);
        seen.add(node.$ref);
        node = node.$ref.slice(2).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
            .reduce((n, t) => n?.[t], doc);
        assert.ok(node, 'the $ref resolves');
    }
    return node;
}

const ROUTES = {
    '/': ['get', 'head', 'post', 'options'],
    '/{id}': ['get', 'head', 'put', 'patch', 'delete', 'options'],
};
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const op = (path, method) => doc.paths[path][method];
const response = (path, method, status) => deref(op(path, method).responses[String(status)]);
const params = (path, method) => [...(doc.paths[path].parameters ?? []), ...(op(path, method).parameters ?? [])]
    .map(deref);

describe('docs/openapi.json', () => {
    test('starts with its licence and is valid OpenAPI 3.1 (swagger-parser)', async () => {
        assert.equal(Object.keys(doc)[0], 'x-spdx-license-identifier');
        assert.equal(doc['x-spdx-license-identifier'], 'Apache-2.0');
        assert.equal(doc.openapi, '3.1.0');
        const api = await SwaggerParser.validate(FILE);
        assert.equal(api.info.title, 'mod_items');
        // and the validator is not a rubber stamp
        const broken = copy();
        broken.paths['/'].get.responses['200'].description = 5;
        await assert.rejects(SwaggerParser.validate(broken));
        const badRef = copy();
        badRef.paths['/'].post.responses['201'] = { $ref: '#/components/responses/Nowhere' };
        await assert.rejects(SwaggerParser.validate(badRef));
    });

    test('its version is the module\'s (configure.ac)', () => {
        const version = read('configure.ac').match(/AC_INIT\(\[mod_items\],\s*\[([^\]]+)\]/)[1];
        assert.equal(doc.info.version, version);
        assert.equal(doc.info.license.identifier, 'Apache-2.0');
    });

    test('every route and method, and nothing else (no health check)', () => {
        assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(ROUTES).sort());
        for (const [path, methods] of Object.entries(ROUTES)) {
            const present = HTTP_METHODS.filter((m) => doc.paths[path][m]);
            assert.deepEqual(present.sort(), [...methods].sort(), path);
        }
        assert.doesNotMatch(raw, /health/i, 'the items-health handler is not part of the API');
        assert.equal(doc.servers[0].url, '/items');
        const ids = Object.entries(ROUTES).flatMap(([p, ms]) => ms.map((m) => op(p, m).operationId));
        assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    });

    test('every status the module answers is documented where it can happen', () => {
        const expected = {
            'get /': [200, 400, 500, 502, 503, 504],
            'head /': [200, 400, 500, 502, 503, 504],
            'post /': [201, 400, 409, 413, 415, 422, 500, 502, 503, 504],
            'options /': [204],
            'get /{id}': [200, 304, 400, 404, 500, 502, 503, 504],
            'head /{id}': [200, 304, 400, 404, 500, 502, 503, 504],
            'put /{id}': [200, 201, 400, 412, 413, 415, 422, 500, 502, 503, 504],
            'patch /{id}': [200, 400, 404, 409, 412, 413, 415, 422, 500, 502, 503, 504],
            'delete /{id}': [204, 400, 404, 412, 500, 502, 503, 504],
            'options /{id}': [204, 400],
        };
        const all = new Set();
        for (const [path, methods] of Object.entries(ROUTES)) {
            for (const m of methods) {
                const got = Object.keys(op(path, m).responses).map(Number).sort((a, b) => a - b);
                assert.deepEqual(got, expected[`${m} ${path}`], `${m.toUpperCase()} ${path}`);
                got.forEach((s) => all.add(s));
            }
        }
        // methods a path does not have, and paths below the mount that are not resources
        assert.deepEqual(Object.keys(doc.paths['/']['x-other-methods'].responses), ['405']);
        assert.deepEqual(Object.keys(doc.paths['/{id}']['x-other-methods'].responses).sort(), ['400', '405']);
        assert.deepEqual(Object.keys(doc['x-other-paths'].responses), ['404']);
        all.add(405);
        assert.deepEqual([...all].sort((a, b) => a - b),
            [200, 201, 204, 304, 400, 404, 405, 409, 412, 413, 415, 422, 500, 502, 503, 504]);
        // the README's error table names no status the document lacks
        const readme = read('README.md');
        const errors = readme.split('### Errors')[1].split('\n## ')[0];
        for (const m of errors.matchAll(/^\| (\d{3}) \|/gm)) {
            assert.ok(all.has(Number(m[1])), `README's ${m[1]} is documented`);
        }
    });

    test('errors are problem+json with type, title, status and detail; statuses pinned', () => {
        const problem = doc.components.schemas.Problem;
        assert.deepEqual([...problem.required].sort(), ['detail', 'status', 'title', 'type']);
        assert.equal(problem.properties.status.type, 'integer');
        const check = (where, status, res) => {
            if (status < 400) {
                return;
            }
            const content = res.content ?? {};
            assert.deepEqual(Object.keys(content), ['application/problem+json'], where);
            const schema = content['application/problem+json'].schema;
            assert.equal(schema.allOf[0].$ref, '#/components/schemas/Problem', where);
            assert.equal(schema.allOf[1].properties.status.const, status, where);
        };
        for (const [path, methods] of Object.entries(ROUTES)) {
            for (const m of methods.filter((x) => x !== 'head')) {
                for (const [s, r] of Object.entries(op(path, m).responses)) {
                    check(`${m} ${path} ${s}`, Number(s), deref(r));
                }
            }
            for (const [s, r] of Object.entries(doc.paths[path]['x-other-methods'].responses)) {
                check(`other methods on ${path} ${s}`, Number(s), deref(r));
            }
        }
        check('other paths', 404, deref(doc['x-other-paths'].responses['404']));
        // HEAD answers have no body, but the same headers
        for (const path of Object.keys(ROUTES)) {
            for (const r of Object.values(op(path, 'head').responses).map(deref)) {
                assert.equal(r.content, undefined);
            }
        }
        assert.ok(response('/', 'head', 503).headers['Retry-After']);
    });

    test('headers: ETag, Location, Link, Allow, Retry-After', () => {
        const header = (res, name) => deref(res.headers?.[name]);
        for (const [p, m, s] of [['/', 'post', 201], ['/{id}', 'put', 201]]) {
            assert.equal(header(response(p, m, s), 'Location').required, true, `${m} ${p} ${s} Location`);
            assert.equal(header(response(p, m, s), 'ETag').required, true, `${m} ${p} ${s} ETag`);
        }
        for (const [p, m, s] of [['/{id}', 'put', 200], ['/{id}', 'patch', 200]]) {
            assert.equal(header(response(p, m, s), 'ETag').required, true, `${m} ${p} ${s} ETag`);
        }
        for (const [p, m, s] of [['/{id}', 'get', 200], ['/{id}', 'head', 200], ['/{id}', 'get', 304]]) {
            assert.ok(header(response(p, m, s), 'ETag'), `${m} ${p} ${s} ETag`);
        }
        assert.ok(header(response('/', 'get', 200), 'Link'));
        assert.match('</items/?limit=2&cursor=abc>; rel="next"', new RegExp(header(response('/', 'get', 200), 'Link').schema.pattern));
        assert.equal(header(response('/', 'options', 204), 'Allow').schema.const, 'GET, HEAD, POST, OPTIONS');
        assert.equal(header(response('/{id}', 'options', 204), 'Allow').schema.const, 'GET, HEAD, PUT, PATCH, DELETE, OPTIONS');
        assert.equal(header(deref(doc.paths['/']['x-other-methods'].responses['405']), 'Allow').required, true);
        assert.equal(header(deref(doc.paths['/{id}']['x-other-methods'].responses['405']), 'Allow').required, true);
        for (const [path, methods] of Object.entries(ROUTES)) {
            for (const m of methods) {
                const r = op(path, m).responses['503'];
                if (r) {
                    assert.equal(header(deref(r), 'Retry-After').required, true, `${m} ${path} 503`);
                }
            }
        }
        assert.match('"5d41402abc4b2a76"', new RegExp(deref(doc.components.headers.ETag).schema.pattern));
    });

    test('request headers and the list query', () => {
        const names = (p, m) => params(p, m).map((x) => `${x.in}:${x.name}`).sort();
        assert.deepEqual(names('/', 'get'), ['query:cursor', 'query:limit']);
        assert.deepEqual(names('/', 'post'), ['header:Idempotency-Key']);
        assert.deepEqual(names('/{id}', 'get'), ['header:If-None-Match', 'path:id']);
        assert.deepEqual(names('/{id}', 'put'), ['header:If-Match', 'header:If-None-Match', 'path:id']);
        assert.deepEqual(names('/{id}', 'patch'), ['header:If-Match', 'path:id']);
        assert.deepEqual(names('/{id}', 'delete'), ['header:If-Match', 'path:id']);
        const limit = params('/', 'get').find((x) => x.name === 'limit');
        assert.deepEqual([limit.schema.type, limit.schema.minimum, limit.schema.maximum, limit.schema.default],
            ['integer', 1, 1000, 50]);
        const id = deref(params('/{id}', 'get').find((x) => x.name === 'id').schema);
        const re = new RegExp(id.pattern);
        for (const ok of ['a', 'lamp-1', 'A.b_c~d', 'x'.repeat(128)]) {
            assert.match(ok, re);
        }
        for (const bad of ['', 'bad!id', 'sp ace', 'x'.repeat(129), 'a/b']) {
            assert.doesNotMatch(bad, re);
        }
        const key = params('/', 'post').find((x) => x.name === 'Idempotency-Key');
        assert.match('order-4711', new RegExp(key.schema.pattern));
        assert.doesNotMatch('x'.repeat(256), new RegExp(key.schema.pattern));
        assert.doesNotMatch('tab\there', new RegExp(key.schema.pattern));
    });

    test('request bodies: an item as JSON, a merge patch for PATCH', () => {
        const body = (p, m) => deref(op(p, m).requestBody);
        assert.deepEqual(Object.keys(body('/', 'post').content), ['application/json']);
        assert.deepEqual(Object.keys(body('/{id}', 'put').content), ['application/json']);
        assert.deepEqual(Object.keys(body('/{id}', 'patch').content), ['application/merge-patch+json']);
        for (const [p, m] of [['/', 'post'], ['/{id}', 'put'], ['/{id}', 'patch']]) {
            assert.equal(body(p, m).required, true);
        }
        assert.equal(body('/', 'post').content['application/json'].schema.$ref, '#/components/schemas/Item');
        assert.equal(body('/{id}', 'patch').content['application/merge-patch+json'].schema.$ref,
            '#/components/schemas/MergePatch');
    });

    test('the item: name required (1 to 1024), description string or null, more allowed, _ reserved', () => {
        const { Item, StoredItem, ItemList, MergePatch } = doc.components.schemas;
        assert.deepEqual(Item.required, ['name']);
        const name = deref(Item.properties.name);
        assert.deepEqual([name.type, name.minLength, name.maxLength], ['string', 1, 1024]);
        assert.deepEqual(deref(Item.properties.description).type, ['string', 'null']);
        assert.notEqual(Item.additionalProperties, false, 'other attributes are allowed');
        const names = deref(Item.propertyNames);
        assert.equal(names.minLength, 1);
        assert.ok(new RegExp(names.not.pattern).test('_version'));
        assert.ok(!new RegExp(names.not.pattern).test('version'));
        assert.equal(Item.properties.id.readOnly, true);
        assert.deepEqual(StoredItem.allOf, [{ $ref: '#/components/schemas/Item' }, { required: ['id'] }]);
        assert.equal(ItemList.items.$ref, '#/components/schemas/StoredItem');
        assert.equal(MergePatch.required, undefined, 'a patch needs no member');
        assert.deepEqual(MergePatch.propertyNames, Item.propertyNames);
        for (const [p, m, s] of [['/', 'post', 201], ['/{id}', 'get', 200], ['/{id}', 'put', 200],
            ['/{id}', 'put', 201], ['/{id}', 'patch', 200]]) {
            assert.equal(response(p, m, s).content['application/json'].schema.$ref,
                '#/components/schemas/StoredItem', `${m} ${p} ${s}`);
        }
        assert.equal(response('/', 'get', 200).content['application/json'].schema.$ref,
            '#/components/schemas/ItemList');
    });

    test('served by the standalone config and the image from ITEMS_DOCS_DIR', () => {
        const conf = read('conf/httpd.conf');
        assert.match(conf, /<Location "\/openapi\.json">\s+SetHandler items-openapi\s+ItemsOpenAPIFile "\$\{ITEMS_DOCS_DIR\}\/openapi\.json"/);
        assert.match(conf, /^Alias "\/docs" "\$\{ITEMS_DOCS_DIR\}\/ui"$/m);
        assert.match(conf, /^Alias "\/docs\/swagger-ui\/" "\$\{ITEMS_SWAGGER_UI_DIR\}\/"$/m);
        const stages = parseDockerfile(read('Dockerfile'));
        const runtime = stages.find((s) => s.name === 'runtime');
        const env = Object.fromEntries(runtime.instrs.filter((i) => i.cmd === 'ENV')
            .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
        const copies = runtime.instrs.filter((i) => i.cmd === 'COPY').map((i) => i.args.split(/\s+/));
        assert.ok(copies.some((c) => c[0] === 'docs/openapi.json' && c.at(-1) === `${env.ITEMS_DOCS_DIR}/openapi.json`),
            'the image copies docs/openapi.json into ITEMS_DOCS_DIR');
        assert.ok(copies.some((c) => c[0] === 'docs/ui/index.html' && c.at(-1) === `${env.ITEMS_DOCS_DIR}/ui/index.html`));
        const ui = runtime.instrs.find((i) => i.cmd === 'COPY' && i.flags.from === 'docs');
        assert.ok(ui, 'COPY --from=docs (Swagger UI)');
        const parts = ui.args.split(/\s+/);
        assert.equal(parts.at(-1), `${env.ITEMS_SWAGGER_UI_DIR}/`);
        for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE', 'NOTICE']) {
            assert.ok(parts.includes(`/src/node_modules/swagger-ui-dist/${f}`), f);
        }
        const pkg = JSON.parse(read('package.json'));
        for (const dep of ['swagger-ui-dist', 'playwright-core', '@apidevtools/swagger-parser']) {
            assert.match(pkg.devDependencies[dep] ?? '', /^\d+\.\d+\.\d+$/, `${dep} is an exact devDependency`);
        }
    });

    test('the /docs page loads Swagger UI from this server only', () => {
        const page = read('docs/ui/index.html');
        assert.match(page, /^<!DOCTYPE html>\n<!-- SPDX-License-Identifier: Apache-2\.0 -->/);
        assert.match(page, /<script src="swagger-ui\/swagger-ui-bundle\.js"><\/script>/);
        assert.match(page, /'\.\.\/openapi\.json'/);
        assert.doesNotMatch(page, /(src|href)="(https?:)?\/\//, 'nothing from another host (no CDN)');
    });
});
