/**
 * Cold `tfa-gitops validate` of a one-account manifest against `node -e 0`, the cost of
 * starting node at all. Both run as fresh processes, one after the other in turn.
 */

import { CLI } from '../lib/paths.mjs';
import { expectSuccess, runNode } from '../lib/measure.mjs';
import { summarize } from '../lib/stats.mjs';

/** Maximum ratio of validate's median to node -e 0's. */
export const VALIDATE_TARGET = 2.5;

/**
 * Runs the case on `manifestDir`, a folder with a one-account manifest file. The timed runs
 * have no preload, so that nothing is added to either start; one more run of each measures
 * peak memory.
 */
export async function validateCase({ manifestDir, env, tempDir, warmups, runs }) {
  const tool = [];
  const floor = [];
  for (let run = 0; run < warmups + runs; run++) {
    // Alternating the order spreads any drift of the machine over both sides.
    const toolFirst = run % 2 === 0;
    for (const side of toolFirst ? ['tool', 'floor'] : ['floor', 'tool']) {
      const result = side === 'tool'
        ? await runNode([CLI, 'validate', '-f', manifestDir], { cwd: manifestDir, env, tempDir })
        : await runNode(['-e', '0'], { cwd: manifestDir, env, tempDir });
      expectSuccess(result, side === 'tool' ? 'tfa-gitops validate' : 'node -e 0');
      if (run >= warmups) (side === 'tool' ? tool : floor).push(result.ms);
    }
  }

  const toolMemory = await runNode([CLI, 'validate', '-f', manifestDir], { cwd: manifestDir, env, tempDir, usage: true });
  const floorMemory = await runNode(['-e', '0'], { cwd: manifestDir, env, tempDir, usage: true });
  expectSuccess(toolMemory, 'tfa-gitops validate');

  const toolSummary = summarize(tool);
  const floorSummary = summarize(floor);
  return {
    name: 'validate',
    title: 'cold validate of a one-account manifest',
    tool: { label: 'tfa-gitops validate', ...toolSummary, maxRssBytes: toolMemory.maxRssBytes },
    floor: { label: 'node -e 0', ...floorSummary, maxRssBytes: floorMemory.maxRssBytes },
    ratio: toolSummary.median / floorSummary.median,
    targets: [{ what: 'ratio to node -e 0', value: toolSummary.median / floorSummary.median, max: VALIDATE_TARGET, unit: 'x' }],
  };
}
