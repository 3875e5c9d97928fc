/**
 * totals() on a 50,000-record month: correct against a naive recomputation, and fast when warm. The assertion
 * leaves a wide margin for slow CI machines; the real figures are printed (`tierwise bench` measures properly).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { benchCallRecord, syntheticMonth } from '../../extension/router/ledger/bench';
import { Ledger } from '../../extension/router/ledger/ledger';
import { naiveRecords, naiveTotals } from './helpers/ledgerChild';

const RECORDS = 50_000;
const WARM_QUERY_LIMIT_MS = 20; // the target is 5 ms
const TIME_ZONE = 'Europe/Berlin';

const dir = mkdtempSync(join(tmpdir(), 'tierwise-ledger-perf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function elapsedMs(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

test(`totals() on a ${RECORDS.toLocaleString('en')}-record month`, (t) => {
  const monthStart = Date.UTC(2026, 8, 30, 22); // 1 October, 00:00 in Berlin
  let now = Date.UTC(2026, 9, 27, 20, 30);
  const path = join(dir, '2026-10.jsonl');
  writeFileSync(path, syntheticMonth(RECORDS, monthStart, now - monthStart - 60_000).lines.join(''));

  const ledger = new Ledger({ dir, now: () => now, timeZone: TIME_ZONE, snapshots: false });
  let totals = ledger.totals();
  const coldMs = elapsedMs(() => new Ledger({ dir, now: () => now, timeZone: TIME_ZONE, snapshots: false }).totals());

  const naive = naiveTotals(naiveRecords(readFileSync(path, 'utf8')), now, TIME_ZONE);
  const close = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);
  close(totals.thisMonth.costUsd, naive.monthUsd, 'month cost');
  assert.equal(totals.thisMonth.calls, naive.monthCalls);
  close(totals.thisMonth.frontierCostUsd, naive.monthFrontierUsd, 'month frontier cost');
  assert.equal(totals.thisMonth.inputTokens, naive.monthInputTokens);
  assert.equal(totals.thisMonth.outputTokens, naive.monthOutputTokens);
  assert.equal(totals.thisMonth.unpricedCalls, naive.monthUnpricedCalls);
  close(totals.today.costUsd, naive.todayUsd, 'today cost');
  assert.equal(totals.today.calls, naive.todayCalls);
  assert.ok(naive.todayCalls > 0, 'the fixture has calls today');
  for (const [tier, costUsd] of Object.entries(naive.byTierUsd)) close(totals.monthByTier[tier as 'mid'].costUsd, costUsd, tier);
  assert.deepEqual(Object.keys(totals.monthByModel).sort(), Object.keys(naive.byModelUsd).sort());
  for (const [model, costUsd] of Object.entries(naive.byModelUsd)) close(totals.monthByModel[model]!.costUsd, costUsd, model);
  assert.deepEqual(Object.keys(totals.monthByDay).sort(), Object.keys(naive.byDayUsd).sort());
  for (const [day, costUsd] of Object.entries(naive.byDayUsd)) close(totals.monthByDay[day]!.costUsd, costUsd, day);
  close(totals.openReservedUsd, naive.openReservedUsd, 'open reservations');

  const warm: number[] = [];
  for (let i = 0; i < 500; i++) warm.push(elapsedMs(() => (totals = ledger.totals())));
  const afterAppend: number[] = [];
  for (let i = 0; i < 200; i++) {
    ledger.append({ ...benchCallRecord('late', i, now - 1000), costUsd: 0.01 });
    afterAppend.push(elapsedMs(() => (totals = ledger.totals())));
  }
  close(totals.today.costUsd, naive.todayUsd + 2, 'today after 200 more calls of $0.01');

  // The day rolls over at midnight in Berlin: today starts empty, the month keeps its days.
  now = Date.UTC(2026, 9, 27, 23, 0);
  const nextDay = ledger.totals();
  assert.equal(nextDay.day, '2026-10-28');
  assert.equal(nextDay.today.calls, 0);
  close(nextDay.thisMonth.costUsd, totals.thisMonth.costUsd, 'month across midnight');

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const worst = (values: number[]) => Math.max(...values);
  t.diagnostic(
    `cold ${coldMs.toFixed(1)} ms; warm median ${(median(warm) * 1000).toFixed(1)} µs, worst ${(worst(warm) * 1000).toFixed(1)} µs; ` +
      `after one append median ${(median(afterAppend) * 1000).toFixed(1)} µs, worst ${(worst(afterAppend) * 1000).toFixed(1)} µs`,
  );
  assert.ok(median(warm) < WARM_QUERY_LIMIT_MS, `warm totals() took ${median(warm)} ms`);
  assert.ok(median(afterAppend) < WARM_QUERY_LIMIT_MS, `totals() after an append took ${median(afterAppend)} ms`);
  ledger.close();
});
