import type { FastifyInstance } from 'fastify';
import { xmodalError } from '../../errors.js';
import { type AuditResult, auditEncoder } from '../../tasks/audit.js';
import { chatEndpointFrom } from '../../tasks/chat.js';
import { classify, labelPromptCount } from '../../tasks/classify.js';
import type { Input } from '../../tasks/embed.js';
import { checkPolicy, moderate, type Policy, policyTexts } from '../../tasks/moderate.js';
import { DEFAULT_POLICY } from '../../tasks/policies/default.js';
import { builtInProbeSet } from '../../tasks/probe-set.js';
import { collectionQuality } from '../../tasks/quality.js';
import { ask } from '../../tasks/rag.js';
import type { Fusion } from '../../tasks/retrieve.js';
import type { ServerContext } from '../context.js';
import { checkText, jsonInput } from '../media-inputs.js';
import { errorSchema, mediaString } from '../schemas.js';

interface InputBody {
  text?: string;
  image?: string;
  audio?: string;
}

const inputProperties = {
  text: { type: 'string', minLength: 1 },
  image: mediaString,
  audio: mediaString,
} as const;

/** The input fields of a task body (text, image or audio) as an Input. */
function inputOf(body: InputBody, ctx: ServerContext): Promise<Input> {
  const { text, image, audio } = body;
  return jsonInput({ text, image, audio }, 'input', ctx.limits);
}

/** Zero-shot classification, moderation, RAG answers and collection quality over HTTP. */
export function registerTaskRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/classify',
    {
      schema: {
        summary: 'Zero-shot classification of an image, a sound or a text against labels',
        tags: ['tasks'],
        body: {
          type: 'object',
          required: ['labels'],
          properties: {
            ...inputProperties,
            labels: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 2, maxItems: 1000 },
            k: { type: 'integer', minimum: 1 },
            lang: { type: 'string' },
            templates: { type: 'array', items: { type: 'string' }, maxItems: 64 },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const body = request.body as InputBody & {
        labels: string[];
        k?: number;
        lang?: string;
        templates?: string[];
      };
      for (const [i, text] of [...body.labels, ...(body.templates ?? [])].entries())
        checkText(text, i < body.labels.length ? `labels[${i}]` : 'a template', ctx.limits);
      const input = await inputOf(body, ctx);
      // Every label in every template is one text through the model, so labels x templates is the request's size.
      const { labels, templates, texts } = labelPromptCount(input.modality, body);
      if (texts > ctx.limits.inputs)
        throw xmodalError(
          'INPUT_TOO_LARGE',
          `${labels} labels in ${templates} templates are ${texts} texts to embed; the limit is ${ctx.limits.inputs}`,
        );
      const scores = await classify(ctx.encoder, input, body);
      return { model: ctx.encoder.id, labels: scores.map(({ label, score }) => ({ label, score })) };
    },
  );

  app.post(
    '/moderate',
    {
      schema: {
        summary: 'Check an image, a sound or a text against a moderation policy (default: the shipped one)',
        tags: ['tasks'],
        body: {
          type: 'object',
          properties: { ...inputProperties, policy: { type: 'object' } },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const body = request.body as InputBody & { policy?: Policy };
      if (body.policy) {
        checkPolicy(body.policy);
        const texts = policyTexts(body.policy);
        if (texts.length > ctx.limits.inputs)
          throw xmodalError(
            'INPUT_TOO_LARGE',
            `the policy has ${texts.length} prompts and templates; the limit is ${ctx.limits.inputs}`,
          );
        for (const text of texts) checkText(text, 'a policy prompt or template', ctx.limits);
      }
      return moderate(ctx.encoder, await inputOf(body, ctx), body.policy ?? DEFAULT_POLICY);
    },
  );

  app.post(
    '/ask',
    {
      schema: {
        summary: "Answer a question from a collection with the server's LLM, citing the items used",
        description: 'Without XMODAL_LLM_URL and XMODAL_LLM_MODEL on the server, only the sources come back.',
        tags: ['tasks'],
        body: {
          type: 'object',
          required: ['question'],
          properties: {
            question: { type: 'string', minLength: 1 },
            collection: { type: 'string' },
            sources: { type: 'integer', minimum: 1, maximum: 50, default: 5 },
            candidates: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            fusion: { type: 'string', enum: ['rrf', 'average'], default: 'rrf' },
            sourcesOnly: { type: 'boolean', default: false },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const body = request.body as {
        question: string;
        collection?: string;
        sources: number;
        candidates: number;
        fusion: Fusion;
        sourcesOnly: boolean;
      };
      const name = body.collection ?? ctx.defaultCollection;
      checkText(body.question, 'question', ctx.limits);
      const { messages: _, ...answer } = await ctx.collections.use(name, (collection) =>
        ask(collection, body.question, {
          sources: body.sources,
          rerankTop: body.candidates,
          fusion: body.fusion,
          // The server's LLM is its operator's (the environment), never a client's.
          llm: body.sourcesOnly ? undefined : chatEndpointFrom(),
        }),
      );
      return { collection: name, ...answer };
    },
  );

  app.get(
    '/collections/:name/quality',
    {
      schema: {
        summary: 'Embedding-quality metrics of a collection',
        tags: ['tasks'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        querystring: {
          type: 'object',
          properties: {
            k: { type: 'string', pattern: '^[0-9]+$', description: 'k-means clusters' },
            sample: {
              type: 'string',
              pattern: '^[0-9]+$',
              description: 'most items measured (default 2000)',
            },
          },
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const query = request.query as { k?: string; sample?: string };
      const sample = Math.min(Number(query.sample ?? 2000), 20_000);
      const k = query.k === undefined ? undefined : Number(query.k);
      const {
        records: _,
        vectors: __,
        ...report
      } = await ctx.collections.use(name, (collection) => collectionQuality(collection, { k, sample }));
      return report;
    },
  );

  // One audit per collection, kept until the collection's item count changes or a refresh is asked for.
  const audits = new Map<string, Promise<{ count: number; computed_at: string; result: AuditResult }>>();
  app.get(
    '/collections/:name/audit',
    {
      schema: {
        summary: "Bias audit of a collection's model on the built-in people probes (cached)",
        description:
          'Retrieval exposure (skew@k, NDKL; over the items labelled group.<attribute> when there are any), zero-shot accuracy per group and word associations, per skin tone and gender.',
        tags: ['tasks'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        querystring: {
          type: 'object',
          properties: { refresh: { type: 'string', enum: ['true', 'false'], description: 'recompute now' } },
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const refresh = (request.query as { refresh?: string }).refresh === 'true';
      return ctx.collections.use(name, async (collection) => {
        const count = await collection.store.count();
        let pending = audits.get(name);
        const cached = pending ? await pending.catch(() => undefined) : undefined;
        const fresh = !refresh && cached?.count === count;
        if (!fresh) {
          pending = (async () => {
            const result = await auditEncoder(collection.encoder, await builtInProbeSet(), {
              store: collection.store,
            });
            for (const attribute of result.attributes) {
              const labels = { collection: name, attribute: attribute.name };
              ctx.metrics.auditMaxSkew.set(labels, attribute.exposure.max_skew);
              ctx.metrics.auditZeroShotGap.set(labels, attribute.zero_shot.max_gap);
            }
            return { count, computed_at: new Date().toISOString(), result };
          })();
          audits.set(name, pending);
          pending.catch(() => audits.delete(name));
        }
        const { computed_at, result } = await pending!;
        return { collection: name, computed_at, cached: fresh, ...result };
      });
    },
  );
}
