// SPDX-License-Identifier: Apache-2.0
// .github/workflows/ci.yml read as data: it runs the project's own .ci/run on
// Debian 12 and insists on the sibling ../shared checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseDocument } from 'yaml';
import { read, run } from './helpers.mjs';

const text = read('.github/workflows/ci.yml');
const wf = parse(text);

test('the GitHub workflow runs `bash .ci/run` in debian:12 with ../shared beside the checkout', () => {
    assert.deepEqual(parseDocument(text).errors, []);
    assert.match(text.split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/);
    assert.ok(wf.on.push && 'pull_request' in wf.on);
    assert.deepEqual(wf.permissions, { contents: 'read' });
    const jobs = Object.values(wf.jobs);
    assert.equal(jobs.length, 1);
    const job = jobs[0];
    assert.match(job['runs-on'], /^ubuntu-/);
    assert.equal(job.container, 'debian:12');
    assert.ok(job['timeout-minutes'] <= 90);
    const steps = job.steps;
    const checkout = steps.filter((s) => /^actions\/checkout@v\d+$/.test(s.uses ?? ''));
    assert.deepEqual(checkout.map((s) => s.with.path), ['main', 'shared']);
    assert.equal(checkout[1].with.repository, '${{ vars.SHARED_REPOSITORY }}');
    const node = steps.find((s) => /^actions\/setup-node@v\d+$/.test(s.uses ?? ''));
    assert.ok(node && Number(node.with['node-version']) >= 20, 'Node.js >= 20 (dynalite 4)');
    const require = steps.findIndex((s) => /shared\/testdata\/sigv4/.test(s.run ?? ''));
    const ci = steps.findIndex((s) => s.run === 'bash .ci/run');
    assert.ok(require >= 0, 'a step checks for ../shared/testdata/sigv4');
    assert.match(steps[require].run, /::error\b/);
    assert.match(steps[require].run, /exit 1/);
    assert.ok(ci > require, 'the check comes before .ci/run');
    assert.equal(steps[ci]['working-directory'], 'main');
    assert.equal(steps[ci].env.CI, 'true');
    assert.match(text, /sibling checkout/i);
    for (const s of steps.filter((x) => x.run)) {
        const r = run('bash', ['-n', '-c', s.run]);
        assert.equal(r.status, 0, `${s.name}: ${r.stderr}`);
    }
});
