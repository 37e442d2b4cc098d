// SPDX-License-Identifier: Apache-2.0
// infra/ read as data: every *.tf parsed by @cdktf/hcl2json, then the things a
// review would look for asserted one by one. Where terraform is installed, its
// formatter and its variable validation run too (neither needs a provider).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, read, loadTerraform, run, which } from './helpers.mjs';

let tf;
before(async () => {
    tf = await loadTerraform('infra');
});

const ref = (s) => (typeof s === 'string' ? s : JSON.stringify(s));
const one = (kind, type) => {
    const all = Object.entries(tf[kind]?.[type] ?? {});
    assert.equal(all.length, 1, `exactly one ${kind} ${type}`);
    return all[0];
};
/** "data.aws_iam_policy_document.x.json" -> the parsed document block */
const policyDoc = (expr) => {
    const m = ref(expr).match(/^\$\{data\.aws_iam_policy_document\.(\w+)\.json\}$/);
    assert.ok(m, `policy comes from a data.aws_iam_policy_document: ${expr}`);
    const doc = tf.data.aws_iam_policy_document[m[1]];
    assert.ok(doc, `data.aws_iam_policy_document.${m[1]} exists`);
    return doc;
};
const variable = (name) => {
    const v = tf.variable?.[name];
    assert.ok(v, `variable "${name}"`);
    return v;
};
const RESERVED_LAMBDA_ENV = /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_EXECUTION_ENV|AWS_LAMBDA_.*|_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|AWS_XRAY_.*)$/;

describe('infra/ (Terraform)', () => {
    test('the four files, each with the SPDX header, parse', () => {
        for (const f of ['versions.tf', 'variables.tf', 'main.tf', 'outputs.tf']) {
            assert.ok(tf.files.includes(f), `infra/${f}`);
        }
        for (const f of tf.files) {
            assert.match(read(join('infra', f)).split('\n')[0], /^# SPDX-License-Identifier: Apache-2\.0$/, f);
        }
    });

    test('terraform >= 1.5 and the AWS provider ~> 5.x', () => {
        const t = tf.terraform;
        assert.equal(t.length, 1);
        assert.equal(t[0].required_version, '>= 1.5');
        const aws = t[0].required_providers[0].aws;
        assert.equal(aws.source, 'hashicorp/aws');
        assert.match(aws.version, /^~> 5\.\d+$/);
    });

    test('variables: env defaults to dev, image_tag is concrete, timeouts fit API Gateway', () => {
        for (const name of ['env', 'region', 'table_name', 'image_tag', 'lambda_memory_mb', 'lambda_timeout_s',
            'log_retention_days', 'localstack', 'localstack_endpoint']) {
            const v = variable(name);
            assert.ok(v.description, `${name} has a description`);
            assert.ok(v.type, `${name} has a type`);
        }
        assert.equal(variable('env').default, 'dev');
        const tag = variable('image_tag');
        assert.equal(typeof tag.default, 'string');
        assert.notEqual(tag.default, 'latest');
        assert.ok(tag.validation.some((v) => /var\.image_tag != "latest"/.test(v.condition)), 'validation rejects latest');
        // the default names this release: the tag `docker build` gets for it (infra/README.md)
        const version = read('configure.ac').match(/AC_INIT\(\[mod_items\],\s*\[([^\]]+)\]/)[1];
        assert.equal(tag.default, version, 'image_tag default follows AC_INIT in configure.ac');
        assert.ok(variable('lambda_timeout_s').default < 30, 'Lambda timeout under API Gateway\'s 30 s');
        assert.ok(variable('lambda_timeout_s').validation.some((v) => /< 30|<= 29/.test(v.condition)));
        assert.ok(variable('lambda_memory_mb').default >= 128);
        assert.equal(variable('localstack').default, false);
        assert.ok(variable('log_retention_days').default > 0);
    });

    test('DynamoDB: hash key id (S), on demand, point-in-time recovery, encryption', () => {
        const [, t] = one('resource', 'aws_dynamodb_table');
        assert.equal(t.billing_mode, 'PAY_PER_REQUEST');
        assert.equal(t.hash_key, 'id');
        assert.equal(t.range_key, undefined);
        assert.deepEqual(t.attribute, [{ name: 'id', type: 'S' }]);
        assert.equal(t.read_capacity, undefined);
        assert.equal(t.write_capacity, undefined);
        assert.deepEqual(t.point_in_time_recovery, [{ enabled: true }]);
        assert.equal(t.server_side_encryption?.[0]?.enabled, true);
    });

    test('ECR: immutable tags, scan on push', () => {
        const [, r] = one('resource', 'aws_ecr_repository');
        assert.equal(r.image_tag_mutability, 'IMMUTABLE');
        assert.deepEqual(r.image_scanning_configuration, [{ scan_on_push: true }]);
    });

    test('Lambda: the ECR image at var.image_tag (never :latest), env, timeout', () => {
        const [, f] = one('resource', 'aws_lambda_function');
        const [repoName] = one('resource', 'aws_ecr_repository');
        assert.equal(f.package_type, 'Image');
        assert.match(f.image_uri, new RegExp(
            `^\\$\\{aws_ecr_repository\\.${repoName}\\.repository_url\\}(:\\$\\{var\\.image_tag\\}|@\\$\\{var\\.image_digest\\})$`));
        assert.doesNotMatch(f.image_uri, /latest/);
        assert.equal(f.timeout, '${var.lambda_timeout_s}');
        assert.equal(f.memory_size, '${var.lambda_memory_mb}');
        const [roleName] = one('resource', 'aws_iam_role');
        assert.equal(f.role, `\${aws_iam_role.${roleName}.arn}`);
        const vars = f.environment[0].variables;
        const [tableName] = one('resource', 'aws_dynamodb_table');
        assert.equal(vars.DYNAMODB_TABLE, `\${aws_dynamodb_table.${tableName}.name}`);
        assert.equal(vars.AWS_LWA_REMOVE_BASE_PATH, '/${var.env}', 'the stage prefix is removed');
        for (const k of Object.keys(vars)) {
            assert.doesNotMatch(k, RESERVED_LAMBDA_ENV, `${k} is reserved by Lambda`);
        }
        assert.ok(f.depends_on.some((d) => /aws_cloudwatch_log_group\./.test(d)), 'log group exists first');
    });

    test('IAM: Lambda may assume the role; the inline policy grants exactly what the module calls', () => {
        const [, role] = one('resource', 'aws_iam_role');
        const assume = policyDoc(role.assume_role_policy);
        assert.equal(assume.statement.length, 1);
        assert.deepEqual(assume.statement[0].actions, ['sts:AssumeRole']);
        assert.deepEqual(assume.statement[0].principals, [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }]);
        assert.equal(tf.resource.aws_iam_role_policy_attachment, undefined, 'no managed policy on the role');
        assert.equal(tf.resource.aws_iam_policy, undefined);
        const [, inline] = one('resource', 'aws_iam_role_policy');
        const [roleName] = one('resource', 'aws_iam_role');
        assert.equal(inline.role, `\${aws_iam_role.${roleName}.id}`);
        const doc = policyDoc(inline.policy);
        const actions = doc.statement.flatMap((s) => s.actions);
        assert.deepEqual(actions.filter((a) => a.startsWith('dynamodb:')).sort(), [
            'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem',
            'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem',
        ]);
        assert.deepEqual(actions.filter((a) => a.startsWith('logs:')).sort(), ['logs:CreateLogStream', 'logs:PutLogEvents']);
        assert.equal(actions.length, 8, `nothing else: ${actions}`);
        const [tableName] = one('resource', 'aws_dynamodb_table');
        for (const s of doc.statement) {
            assert.equal(s.effect ?? 'Allow', 'Allow');
            assert.equal(s.not_actions, undefined);
            assert.equal(s.not_resources, undefined);
            assert.ok(s.resources.length > 0);
            for (const r of s.resources) {
                assert.notEqual(r, '*');
                assert.doesNotMatch(r, /^arn:aws[^$]*\*$/, `${r}: a wildcard ARN`);
            }
            const kinds = new Set(s.actions.map((a) => a.split(':')[0]));
            assert.equal(kinds.size, 1, 'one service per statement');
            if (kinds.has('dynamodb')) {
                assert.deepEqual(s.resources, [`\${aws_dynamodb_table.${tableName}.arn}`], 'the table ARN only');
            } else {
                for (const r of s.resources) {
                    assert.match(r, /^\$\{aws_cloudwatch_log_group\.lambda\.arn\}(:log-stream:\*|:\*)?$/, r);
                }
            }
        }
    });

    test('logs: the function\'s and the API\'s log groups, with retention', () => {
        const groups = tf.resource.aws_cloudwatch_log_group;
        assert.deepEqual(Object.keys(groups).sort(), ['api', 'lambda']);
        for (const g of Object.values(groups)) {
            assert.equal(g.retention_in_days, '${var.log_retention_days}');
        }
        const [, f] = one('resource', 'aws_lambda_function');
        assert.equal(groups.lambda.name, `/aws/lambda/${f.function_name}`, 'the group Lambda writes to');
    });

    test('API Gateway: HTTP API, Lambda proxy (payload 2.0), ANY / and ANY /{proxy+}, stage var.env', () => {
        const [apiName, api] = one('resource', 'aws_apigatewayv2_api');
        assert.equal(api.protocol_type, 'HTTP');
        const [integName, integ] = one('resource', 'aws_apigatewayv2_integration');
        const [fnName] = one('resource', 'aws_lambda_function');
        assert.equal(integ.api_id, `\${aws_apigatewayv2_api.${apiName}.id}`);
        assert.equal(integ.integration_type, 'AWS_PROXY');
        assert.equal(integ.payload_format_version, '2.0');
        assert.equal(integ.integration_uri, `\${aws_lambda_function.${fnName}.invoke_arn}`);
        const routes = Object.values(tf.resource.aws_apigatewayv2_route);
        assert.deepEqual(routes.map((r) => r.route_key).sort(), ['ANY /', 'ANY /{proxy+}']);
        for (const r of routes) {
            assert.equal(r.target, `integrations/\${aws_apigatewayv2_integration.${integName}.id}`);
        }
        const [, stage] = one('resource', 'aws_apigatewayv2_stage');
        assert.equal(stage.name, '${var.env}');
        assert.equal(stage.auto_deploy, true);
        assert.equal(stage.access_log_settings[0].destination_arn, '${aws_cloudwatch_log_group.api.arn}');
        assert.match(stage.access_log_settings[0].format, /\$context\.requestId/);
        const [, perm] = one('resource', 'aws_lambda_permission');
        assert.equal(perm.action, 'lambda:InvokeFunction');
        assert.equal(perm.principal, 'apigateway.amazonaws.com');
        assert.match(perm.function_name, new RegExp(`^\\$\\{aws_lambda_function\\.${fnName}\\.`));
        assert.equal(perm.source_arn, `\${aws_apigatewayv2_api.${apiName}.execution_arn}/*/*`);
    });

    test('outputs: exactly api_url, dynamodb_table_name, lambda_function_arn, api_id', () => {
        assert.deepEqual(Object.keys(tf.output).sort(), ['api_id', 'api_url', 'dynamodb_table_name', 'lambda_function_arn']);
        assert.match(tf.output.api_url.value, /^\$\{aws_apigatewayv2_stage\.\w+\.invoke_url\}$/);
        assert.match(tf.output.dynamodb_table_name.value, /^\$\{aws_dynamodb_table\.\w+\.name\}$/);
        assert.match(tf.output.lambda_function_arn.value, /^\$\{aws_lambda_function\.\w+\.arn\}$/);
        assert.match(tf.output.api_id.value, /^\$\{aws_apigatewayv2_api\.\w+\.id\}$/);
        for (const o of Object.values(tf.output)) {
            assert.ok(o.description);
        }
    });

    test('the LocalStack variant: endpoints only when var.localstack, switched on by localstack.tfvars', async () => {
        const aws = tf.provider[0].aws[0];
        assert.equal(aws.region, '${var.region}');
        const dyn = aws.dynamic?.endpoints?.[0];
        assert.ok(dyn, 'a dynamic "endpoints" block');
        assert.match(dyn.for_each, /^\$\{var\.localstack \?/);
        const ep = dyn.content[0];
        for (const svc of ['dynamodb', 'iam', 'lambda', 'logs', 'ecr', 'apigatewayv2', 'sts']) {
            assert.ok(ep[svc], `endpoint for ${svc}`);
        }
        assert.equal(aws.endpoints, undefined, 'no unconditional endpoints');
        assert.equal(aws.skip_credentials_validation, '${var.localstack}');
        const { parse } = await import('@cdktf/hcl2json');
        const vars = await parse('localstack.tfvars', read('infra/localstack.tfvars'));
        assert.equal(vars.localstack, true);
        assert.match(vars.localstack_endpoint, /^http:\/\/(localhost|127\.0\.0\.1):4566$/);
        const readme = read('infra/README.md');
        assert.match(readme, /-var-file=localstack\.tfvars/);
        assert.match(readme, /terraform apply -var="env=dev" -auto-approve/);
        assert.match(readme, /-var image_tag=|-var="image_tag=/);
    });
});

// --- with the terraform binary: formatting and variable validation -----------

const terraform = which('terraform');
const tfSkip = terraform ? false : 'terraform is not installed';
const tfEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
if (tfEnv.TF_CLI_CONFIG_FILE && !existsSync(tfEnv.TF_CLI_CONFIG_FILE)) {
    delete tfEnv.TF_CLI_CONFIG_FILE;
}

test('terraform fmt finds nothing to change in infra/', { skip: tfSkip }, () => {
    const r = run(terraform, ['fmt', '-check', '-diff', '-no-color', join(repo, 'infra')], { env: tfEnv });
    assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('terraform applies the variable validations (variables.tf alone: no provider needed)', { skip: tfSkip, timeout: 120000 }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mod-items-tfvars-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(join(repo, 'infra', 'variables.tf'), join(dir, 'variables.tf'));
    const tfr = (...args) => run(terraform, [`-chdir=${dir}`, ...args, '-no-color', '-input=false'], { env: tfEnv });
    const init = tfr('init', '-backend=false');
    assert.equal(init.status, 0, init.stdout + init.stderr);
    const plan = (...vars) => tfr('plan', '-lock=false', ...vars.flatMap((v) => ['-var', v]));
    const ok = plan('env=dev');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    for (const [bad, why] of [
        ['image_tag=latest', /not "latest"/],
        ['image_tag=', /image_tag/],
        ['lambda_timeout_s=30', /lambda_timeout_s/],
        ['env=Dev_1', /env must be/],
        ['log_retention_days=10', /log_retention_days/],
    ]) {
        const r = plan(bad);
        assert.notEqual(r.status, 0, `${bad} is refused`);
        // terraform wraps its messages: compare with the line breaks folded
        assert.match((r.stdout + r.stderr).replace(/\s+/g, ' '), why, bad);
    }
    const custom = plan('image_tag=3f2c1ab', 'env=prod', 'lambda_timeout_s=29');
    assert.equal(custom.status, 0, custom.stdout + custom.stderr);
});
