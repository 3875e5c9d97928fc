import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_PLAN_STEPS, parsePlan, planValidator } from '../../extension/router/validators/plan';

const step = (overrides: Record<string, unknown> = {}) => ({
  id: 1,
  description: 'Extract the average into its own module',
  files: ['src/math.ts'],
  tier: 'mid',
  kind: 'refactor',
  ...overrides,
});
const planJson = (value: unknown) => JSON.stringify(value);

function reasonOf(output: string): string {
  const parsed = parsePlan(output);
  assert.equal(parsed.ok, false, 'the plan is rejected');
  return parsed.ok ? '' : parsed.reason;
}

describe('parsePlan: plans that pass', () => {
  test('a plan with one step', () => {
    const parsed = parsePlan(planJson({ goal: 'Add a median', steps: [step()] }));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.plan, { goal: 'Add a median', steps: [step()] });
  });

  test('string ids, answer steps without files, and ./ or \\ in paths are normalized', () => {
    const parsed = parsePlan(
      planJson({
        goal: 'g',
        steps: [step({ id: 'a', files: ['./src\\math.ts'] }), step({ id: 'b', kind: 'answer', files: [], tier: 'frontier' })],
      }),
    );
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.plan.steps.map((s) => [s.id, s.files, s.kind]), [['a', ['src/math.ts'], 'refactor'], ['b', [], 'answer']]);
  });

  test('one fence around the JSON, or prose around it, is tolerated (no JSON mode on some providers)', () => {
    const json = planJson({ goal: 'g', steps: [step()] });
    assert.ok(parsePlan('```json\n' + json + '\n```').ok);
    assert.ok(parsePlan(`Here is the plan:\n${json}\nGood luck.`).ok);
  });

  test('extra fields are ignored', () => assert.ok(parsePlan(planJson({ goal: 'g', notes: 'x', steps: [step({ rationale: 'y' })] })).ok));

  test('planValidator is the router-facing check', () => {
    assert.deepEqual(planValidator(planJson({ goal: 'g', steps: [step()] })), { ok: true });
    assert.equal(planValidator('nope').ok, false);
  });
});

describe('parsePlan: precise reasons for plans that fail', () => {
  test('not JSON', () => assert.match(reasonOf('The plan is to refactor things.'), /^not valid JSON: /));

  test('not an object', () => assert.equal(reasonOf('[1, 2]'), 'the answer must be a JSON object, got an array'));

  test('missing goal', () => assert.equal(reasonOf(planJson({ steps: [step()] })), '"goal" must be a non-empty string, got nothing'));

  test('no steps', () => {
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [] })), '"steps" is empty; a plan needs at least one step');
    assert.equal(reasonOf(planJson({ goal: 'g', steps: 'do it' })), '"steps" must be an array, got "do it"');
  });

  test('too many steps', () => {
    const steps = Array.from({ length: MAX_PLAN_STEPS + 1 }, (_, index) => step({ id: index + 1 }));
    assert.equal(reasonOf(planJson({ goal: 'g', steps })), `"steps" has ${MAX_PLAN_STEPS + 1} steps; at most ${MAX_PLAN_STEPS}`);
  });

  test('an unknown tier names the step, the field and the value', () => {
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step(), step({ id: 2, tier: 'cheap' })] })), 'steps[1].tier must be "local", "mid" or "frontier", got "cheap"');
  });

  test('an unknown kind', () => {
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ kind: 'test' })] })), 'steps[0].kind must be "refactor" or "answer", got "test"');
  });

  test('duplicate ids', () => {
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ id: 'x' }), step({ id: 'x' })] })), 'steps[1].id "x" repeats steps[0].id');
  });

  test('numeric ids out of order', () => {
    assert.equal(
      reasonOf(planJson({ goal: 'g', steps: [step({ id: 2 }), step({ id: 1 })] })),
      'steps[1].id 1 comes after 2: list the steps in the order they run',
    );
  });

  test('bad ids, descriptions and files', () => {
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ id: true })] })), 'steps[0].id must be a number or a non-empty string, got boolean true');
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ description: '' })] })), 'steps[0].description must be a non-empty string, got ""');
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ files: 'src/a.ts' })] })), 'steps[0].files must be an array of file paths, got "src/a.ts"');
    assert.equal(reasonOf(planJson({ goal: 'g', steps: [step({ files: [] })] })), 'steps[0].files is empty; a refactor step must name the files it changes');
    assert.equal(
      reasonOf(planJson({ goal: 'g', steps: [step({ files: ['../secrets.txt'] })] })),
      'steps[0].files[0] "../secrets.txt" must be a path relative to the workspace, without ".."',
    );
    assert.match(reasonOf(planJson({ goal: 'g', steps: [step({ files: ['/etc/passwd'] })] })), /must be a path relative to the workspace/);
  });

  test('a step that is not an object', () => assert.equal(reasonOf(planJson({ goal: 'g', steps: ['do it'] })), 'steps[0] must be an object, got "do it"'));

  test('several problems are listed, up to three, and the rest counted', () => {
    const reason = reasonOf(planJson({ goal: '', steps: [step({ tier: 'x', kind: 'y', description: 3 })] }));
    assert.equal(
      reason,
      '"goal" must be a non-empty string, got ""; steps[0].description must be a non-empty string, got number 3; steps[0].tier must be "local", "mid" or "frontier", got "x" (and 1 more)',
    );
  });
});
