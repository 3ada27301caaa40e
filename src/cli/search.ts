import { type Command, Option } from 'commander';
import { xmodalError } from '../errors.js';
import type { Filter } from '../store/store.js';
import { type FairReport, fairSearch } from '../tasks/fair-search.js';
import { hitPlace, type ResultKind, withKind } from '../tasks/moments.js';
import { checkK, hitJson, type QueryPart, type ResultHit, searchCollection } from '../tasks/search.js';
import { openCollection } from '../tasks/workspace.js';
import { out, printable, printJson } from './io.js';
import { type ModelFlags, parseDtype } from './shared.js';
import { withCollectionFlag, workspaceOf } from './workspace-flags.js';

interface SearchFlags extends ModelFlags {
  collection: string;
  text?: string[];
  image?: string[];
  audio?: string[];
  like?: string[];
  not?: string[];
  modality?: ResultKind;
  k: string;
  minScore?: string;
  tag?: string[];
  allTags?: boolean;
  pathPrefix?: string;
  fair?: string;
  fairMargin?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const WEIGHTED = /^(.*)@(-?\d+(?:\.\d+)?)$/s;

/** `VALUE@WEIGHT` → a query part; the suffix is optional. */
function part(kind: QueryPart['kind'], raw: string, sign = 1, defaultWeight = 1): QueryPart {
  const match = WEIGHTED.exec(raw);
  const [value, weight] = match ? [match[1], Number(match[2])] : [raw, defaultWeight];
  return { kind, value, weight: sign * weight };
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw xmodalError('BAD_ARGUMENT', `${name} must be a number, got "${value}"`);
  return n;
}

export function registerSearch(program: Command, withModelFlags: (c: Command) => Command): void {
  withCollectionFlag(
    withModelFlags(
      program
        .command('search')
        .description(
          'search a collection with text, an image, a sound or an indexed item, combined and weighted',
        )
        .argument('[query]', 'a text query (same as --text)')
        .option('--text <text>', 'text query part; VALUE@WEIGHT weights it (repeatable)', collect)
        .option('--image <path>', 'image query part (repeatable)', collect)
        .option('--audio <path>', 'audio query part (repeatable)', collect)
        .option('--like <id>', 'an indexed item as a query part (repeatable)', collect)
        .option('--not <text>', 'text to steer away from; default weight 0.5 (repeatable)', collect)
        .addOption(
          new Option(
            '--modality <modality>',
            'only results of this modality (video: moments in videos)',
          ).choices(['image', 'audio', 'text', 'video']),
        )
        .option('-k, --k <n>', 'number of results', '10')
        .option('--min-score <score>', 'drop results below this cosine similarity')
        .option('--tag <tag>', 'only items with this tag (repeatable: any of them)', collect)
        .option('--all-tags', 'with several --tag, require all of them')
        .option('--path-prefix <prefix>', 'only items whose path starts with this')
        .option(
          '--fair <attribute>',
          're-rank so each group of the attribute (item meta/tag group.<attribute>, or predicted skin_tone / gender) gets its share of the results',
        )
        .option('--fair-margin <score>', 'with --fair: most score an item may lose its place to', '0.05')
        .option(
          '--json',
          'print {"results": [{"id","score","space"?,"modality","uri","tags","meta"}]} (and "fair" with --fair); video moments add "t"',
        ),
    ),
  ).action(async (query: string | undefined, flags: SearchFlags, command: Command) => {
    const parts: QueryPart[] = [
      ...(query !== undefined ? [part('text', query)] : []),
      ...(flags.text ?? []).map((t) => part('text', t)),
      ...(flags.image ?? []).map((p) => part('image', p)),
      ...(flags.audio ?? []).map((p) => part('audio', p)),
      ...(flags.like ?? []).map((id) => part('like', id)),
      ...(flags.not ?? []).map((t) => part('text', t, -1, 0.5)),
    ];
    if (parts.length === 0)
      throw xmodalError('BAD_ARGUMENT', 'nothing to search for: give a query, --image, --audio or --like');
    const k = checkK(Number(flags.k), '-k');
    const filter: Filter = withKind(
      {
        ...(flags.tag ? (flags.allTags ? { tagsAll: flags.tag } : { tagsAny: flags.tag }) : {}),
        uriPrefix: flags.pathPrefix,
      },
      flags.modality,
    );
    const collection = await openCollection(workspaceOf(command), flags.collection, {
      model: flags.model,
      encoder: { dtype: parseDtype(flags.dtype), offline: flags.offline, cacheDir: flags.cacheDir },
    });
    try {
      const query = { parts, k, filter, minScore: number('--min-score', flags.minScore) };
      const { hits, fair }: { hits: ResultHit[]; fair?: FairReport } = flags.fair
        ? await fairSearch(collection, query, {
            attribute: flags.fair,
            margin: number('--fair-margin', flags.fairMargin),
          })
        : { hits: await searchCollection(collection, query) };
      if (flags.json) return printJson({ ...(fair ? { fair } : {}), results: hits.map(hitJson) });
      if (hits.length === 0) out('no results\n');
      hits.forEach((hit, i) => {
        const snippet = typeof hit.meta?.text === 'string' ? `  "${hit.meta.text.slice(0, 60)}"` : '';
        // A video moment says whether it was seen (a frame) or heard (its sound); a long recording's is heard.
        const fromVideo = hit.meta?.video === true;
        const kind = fromVideo ? 'video' : hit.modality;
        const how = !fromVideo ? '' : hit.modality === 'image' ? '  (seen)' : '  (heard)';
        out(
          `${String(i + 1).padStart(3)}  ${hit.score.toFixed(4)}${hit.space ? ` ${hit.space}` : ''}  ${kind.padEnd(5)}  ${printable(hitPlace(hit))}${snippet}${how}\n`,
        );
      });
      if (fair) out(`${fairLine(fair)}\n`);
    } finally {
      await collection.close();
    }
  });
}

/** One line: each group's count in the top k by score and re-ranked, and the relevance it cost. */
export function fairLine(fair: FairReport): string {
  const groups = Object.keys(fair.share)
    .sort()
    .map((g) => `${g} ${fair.before[g]} → ${fair.after[g]}`)
    .join(', ');
  const predicted = fair.predicted
    ? `; ${fair.predicted} of ${fair.candidates} groups predicted zero-shot`
    : '';
  return `fair over ${fair.attribute}: ${groups}; relevance ${fair.relevance.before.toFixed(4)} → ${fair.relevance.after.toFixed(4)} (${fair.candidates} candidates, margin ${fair.margin}${predicted})`;
}
