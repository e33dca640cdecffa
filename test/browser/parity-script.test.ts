import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

/**
 * An `if` control node as the original's scripts write it. Built from entries because a
 * literal `then` key makes an object look thenable to linters (and to `await`).
 */
function ifNode(condition: object, whenTrue: object[], whenFalse?: object[]): object {
  const entries: Array<[string, unknown]> = [
    ['condition', condition],
    ['then', whenTrue],
  ];
  if (whenFalse) entries.push(['else', whenFalse]);
  return { if: Object.fromEntries(entries) };
}

/** The original's run_script (docs/script-mode.md), against local pages. */
describe('stealthy-auto-browse parity: run_script control flow and outputs', {
  skip: skipWithout('chromium'),
}, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp();
  });
  after(async () => {
    await t?.close();
  });

  it('runs if / repeat / while and collects output_id results', async () => {
    const res = await t.act({
      action: 'run_script',
      name: 'counter',
      steps: [
        { action: 'goto', url: `${t.fixture.url}/counter` },
        ifNode(
          { type: 'element', selector: '.cookie-banner', state: 'visible' },
          [{ action: 'click', selector: '.cookie-banner button' }],
          [{ action: 'eval', expression: 'true', output_id: 'no_banner' }],
        ),
        { repeat: { count: 2, steps: [{ action: 'click', selector: '#inc' }] } },
        {
          while: {
            condition: { type: 'text', text: 'Load more' },
            max_iterations: 5,
            steps: [{ action: 'click', selector: '#more' }],
          },
        },
        { action: 'eval', expression: 'n.textContent', output_id: 'count' },
        ifNode(
          {
            type: 'all',
            conditions: [
              { type: 'output', output_id: 'count', path: ['result'], equals: '5' },
              { type: 'url', matches: '*/counter' },
              { type: 'not', condition: { type: 'javascript', expression: 'loads !== 3' } },
            ],
          },
          [{ action: 'eval', expression: "'five'", output_id: 'verdict' }],
        ),
        { action: 'save_screenshot', whLargest: 64, output_id: 'shot' },
      ],
    });
    const data = ok(res);
    assert.equal(data.name, 'counter');
    assert.equal(data.success, true);
    assert.equal(data.steps_executed, 7);
    assert.equal(data.steps_total, 7);
    const outputs = data.outputs as Record<string, unknown>;
    assert.deepEqual(outputs.no_banner, { result: true });
    assert.deepEqual(outputs.count, { result: '5' });
    assert.deepEqual(outputs.verdict, { result: 'five' });
    const shot = String(outputs.shot);
    assert.match(shot, /^data:image\/png;base64,/);
    const png = Buffer.from(shot.split(',')[1] ?? '', 'base64');
    assert.equal(png.readUInt32BE(16), 64, 'resized to whLargest');
    const steps = data.step_results as Array<Record<string, unknown>>;
    assert.deepEqual(
      steps.map((s) => s.action ?? s.control),
      ['goto', 'if', 'repeat', 'while', 'eval', 'if', 'save_screenshot'],
    );
    assert.equal(steps[1]?.branch, 'else');
    assert.equal((steps[2]?.iterations as unknown[] | undefined)?.length, 2);
    assert.equal(
      (steps[3]?.iterations as unknown[] | undefined)?.length,
      3,
      'while ran until the text went away',
    );
    assert.equal((steps[6]?.data as Record<string, unknown> | undefined)?.type, 'browser');
    assert.ok(!JSON.stringify(steps[6]).includes('iVBOR'), 'the PNG itself only goes to outputs');
  });

  it('on_error continue runs past failures and reports them', async () => {
    const res = await t.act({
      action: 'run_script',
      on_error: 'continue',
      steps: [
        { action: 'goto', url: `${t.fixture.url}/` },
        { action: 'click', selector: '#missing', timeout: 0.2 },
        { action: 'eval', expression: 'document.title', output_id: 'title' },
      ],
    });
    const data = ok(res);
    assert.equal(data.success, false);
    assert.equal(data.steps_executed, 3);
    assert.deepEqual(
      (data.step_results as Array<{ success: boolean }>).map((s) => s.success),
      [true, false, true],
    );
    assert.deepEqual((data.outputs as Record<string, unknown>).title, { result: 'Fixture Home' });
  });

  it('takes the script as YAML, as the original script mode writes it', async () => {
    const yaml = [
      'name: Scrape Fixture',
      'on_error: continue',
      'steps:',
      `  - action: goto`,
      `    url: ${t.fixture.url}/`,
      '  - action: click',
      '    selector: "#missing"',
      '    timeout: 0.2',
      '  - repeat:',
      '      count: 2',
      '      steps:',
      '        - action: ping',
      '  - action: eval',
      '    expression: "document.title"',
      '    output_id: title',
    ].join('\n');
    const data = ok(await t.act({ action: 'run_script', yaml }));
    assert.equal(data.name, 'Scrape Fixture');
    assert.equal(data.success, false, 'on_error: continue from the document ran past the failure');
    assert.equal(data.steps_executed, 4);
    assert.deepEqual((data.outputs as Record<string, unknown>).title, { result: 'Fixture Home' });
  });

  it('bounds loops: while past max_iterations fails, loop bodies stop at 1,000 steps', async () => {
    const endless = await t.act({
      action: 'run_script',
      steps: [
        {
          while: {
            condition: { type: 'javascript', expression: 'true' },
            max_iterations: 2,
            steps: [{ action: 'eval', expression: '1' }],
          },
        },
      ],
    });
    assert.equal(endless.status, 422);
    assert.match(String(endless.body.error), /max_iterations \(2\)/);
    assert.equal(
      (endless.body.data?.step_results as Array<{ iterations: unknown[] }> | undefined)?.[0]?.iterations
        .length,
      2,
    );

    const big = await t.act({
      action: 'run_script',
      steps: [{ repeat: { count: 11, steps: [{ repeat: { count: 100, steps: [{ action: 'ping' }] } }] } }],
    });
    assert.equal(big.status, 400);
    assert.match(String(big.body.error), /more than 1000 steps/);
  });

  it('refuses malformed scripts before running anything', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    const bad: unknown[] = [
      [{ repeat: { count: 101, steps: [{ action: 'ping' }] } }],
      [{ repeat: { count: 1, steps: [{ action: 'ping' }] }, action: 'ping' }],
      [{ while: { condition: { type: 'text', text: 'x' }, steps: [{ action: 'ping' }] } }],
      [ifNode({ type: 'output', output_id: 'x' }, [{ action: 'ping' }])],
      [ifNode({ type: 'not', condition: { type: 'text', text: 'x', timeout: 1 } }, [{ action: 'ping' }])],
      [
        { action: 'goto', url: `${t.fixture.url}/page2` },
        { action: 'run_script', steps: [] },
      ],
    ];
    for (const steps of bad) {
      const res = await t.act({ action: 'run_script', steps });
      assert.equal(res.status, 400, JSON.stringify(steps));
      assert.equal(res.body.code, 'invalid_request');
    }
    assert.equal(
      ok(await t.act({ action: 'eval', expression: 'document.title' })).result,
      'Fixture Home',
      'nothing ran',
    );
    for (const yaml of ['steps: []', 'steps: [ {action: ping', 'name: no steps', '&a [*a, *a]']) {
      const res = await t.act({ action: 'run_script', yaml });
      assert.equal(res.status, 400, yaml);
      assert.match(String(res.body.error), /yaml/);
    }
    const nonBoolean = await t.act({
      action: 'run_script',
      steps: [ifNode({ type: 'javascript', expression: '"yes"' }, [{ action: 'ping' }])],
    });
    assert.equal(nonBoolean.status, 422);
    assert.match(String(nonBoolean.body.error), /true or false/);
  });
});
