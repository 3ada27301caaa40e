import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { openCollection } from '../library/collection.js';
import { audit } from '../library/tasks.js';
import { type AuditResult, DEFAULT_AUDIT_K } from '../tasks/audit.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, parseDtype, printJson } from './shared.js';
import { workspaceOf } from './workspace-flags.js';

interface AuditFlags extends ModelFlags {
  collection?: string;
  probe?: string;
  k: string;
  permutations: string;
  seed: string;
  json?: boolean;
  plot?: string;
}

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw xmodalError('BAD_ARGUMENT', `${name} must be an integer of at least ${min}, got "${value}"`);
  return n;
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/** The audit as a readable table: one block per attribute, one column per group. */
export function auditTable(result: AuditResult, source: string): string {
  const lines = [`audit of ${result.model} on ${result.probes} probes (${source}), k=${result.k}`];
  for (const a of result.attributes) {
    const width = Math.max(8, ...a.groups.map((g) => g.length + 2));
    const cells = (values: number[], format: (x: number) => string) =>
      values.map((v) => format(v).padStart(width)).join('');
    lines.push(
      '',
      `${a.name.padEnd(26)}${a.groups.map((g) => g.padStart(width)).join('')}`,
      `${`skew@${a.exposure.pool === 'probes' ? result.k : `${result.k} (collection)`}`.padEnd(26)}${cells(
        a.groups.map((g) => a.exposure.per_group[g] ?? 0),
        signed,
      )}   max |skew| ${a.exposure.max_skew.toFixed(3)}, NDKL ${a.exposure.ndkl.toFixed(3)}`,
      `${'zero-shot accuracy'.padEnd(26)}${cells(
        a.groups.map((g) => a.zero_shot.per_group[g] ?? 0),
        (x) => x.toFixed(3),
      )}   max gap ${a.zero_shot.max_gap.toFixed(3)}`,
      'association (effect size d, permutation p; * p < 0.01)',
      ...[...a.association]
        .sort((x, y) => x.p - y.p || y.effect_size - x.effect_size)
        .map(
          (w) =>
            `  ${w.word.padEnd(14)} d ${w.effect_size.toFixed(2)}  p ${w.p.toFixed(3)}${w.p < 0.01 ? ' *' : '  '}  closest ${w.high}, furthest ${w.low}`,
        ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerAudit(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('audit')
      .description(
        'bias audit: retrieval exposure, zero-shot accuracy and word associations per skin tone and gender',
      )
      .option(
        '-c, --collection <name>',
        "audit a collection's model, and its items labelled group.<attribute>",
      )
      .option(
        '--probe <file>',
        'own probe set, JSON Lines: {"file" | "text", "group": {"attribute": "value"}, "concept"}',
      )
      .option('-k, --k <n>', 'ranking depth of skew@k and NDKL', String(DEFAULT_AUDIT_K))
      .option('--permutations <n>', 'label permutations per association p-value', '1000')
      .option('--seed <n>', 'seed of the permutations', '1')
      .option('--json', 'print {"model", "attributes": [...]} as JSON')
      .option('--plot <file>', 'draw per-group bars to an .svg or .png file'),
  ).action(async (flags: AuditFlags, command: Command) => {
    const request = {
      probe: flags.probe,
      k: integer('-k', flags.k, 1),
      permutations: integer('--permutations', flags.permutations, 1),
      seed: integer('--seed', flags.seed, 0),
      plot: flags.plot,
    };
    const source = flags.probe ?? 'built-in OpenMoji people';
    let result: AuditResult;
    if (flags.collection) {
      const collection = await openCollection(flags.collection, {
        ...workspaceOf(command),
        create: false,
        model: flags.model,
        dtype: parseDtype(flags.dtype),
        offline: flags.offline,
        cacheDir: flags.cacheDir,
      });
      try {
        result = await collection.audit(request);
      } finally {
        await collection.close();
      }
    } else {
      const encoder = await openEncoder(flags);
      try {
        result = await audit({ ...request, model: encoder });
      } finally {
        await encoder.dispose();
      }
    }
    if (flags.json) return printJson(result);
    out(auditTable(result, source));
    if (flags.plot) out(`plot written to ${flags.plot}\n`);
  });
}
