import { benchDecisions } from '../../router/decisionBench';
import { benchAppendRate, benchTotalsQuery } from '../../router/ledger/bench';

const fixed = (value: number, digits = 1) => value.toFixed(digits);

/** `tierwise bench`: the engine's own figures, measured on real work in temporary folders. */
export async function benchCommand(output: NodeJS.WritableStream): Promise<number> {
  const decisions = benchDecisions(100_000);
  output.write(
    `decision latency (Router.decide incl. token estimate, ${decisions.count} decisions, prompts averaging ${Math.round(decisions.meanPromptChars)} chars): p50 ${fixed(decisions.p50Micros)} µs, p99 ${fixed(decisions.p99Micros)} µs, mean ${fixed(decisions.meanMicros)} µs\n`,
  );
  const appends = await benchAppendRate({ processes: 3, seconds: 2 });
  output.write(
    `ledger appends (${appends.processes} concurrent processes): ${Math.round(appends.recordsPerSecond)} records/s ` +
      `(${appends.records} records in ${Math.round(appends.elapsedMs)} ms; read back ${appends.recordsReadBack}, lost ${appends.lost}, torn ${appends.tornStretches})\n`,
  );
  const totals = await benchTotalsQuery({ records: 50_000 });
  output.write(
    `totals query (${totals.records}-record month, ${(totals.fileBytes / 1e6).toFixed(1)} MB): warm p50 ${fixed(totals.warmP50Us)} µs, p99 ${fixed(totals.warmP99Us)} µs; ` +
      `after an append p50 ${fixed(totals.afterAppendP50Us)} µs, p99 ${fixed(totals.afterAppendP99Us)} µs; ` +
      `cold load ${fixed(totals.coldLoadMs)} ms (${fixed(totals.coldLoadFromSnapshotMs)} ms from snapshot); correct: ${totals.correct}\n`,
  );
  return appends.lost === 0 && appends.tornStretches === 0 && totals.correct ? 0 : 1;
}
