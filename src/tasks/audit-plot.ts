import type { AuditResult } from './audit.js';

const PANEL_W = 340;
const PANEL_H = 200;
const MARGIN = 40;
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Bars per group, one row per attribute: mean skew@k (left, around 0) and zero-shot accuracy (right, 0..1). */
export function auditSvg(result: AuditResult): string {
  const width = 2 * PANEL_W + 3 * MARGIN;
  const height = result.attributes.length * (PANEL_H + 2 * MARGIN) + MARGIN;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${MARGIN}" y="22" font-size="14">${escapeXml(`audit of ${result.model.split('/').at(-1)} (${result.probes} probes)`)}</text>`,
  ];
  result.attributes.forEach((attribute, row) => {
    const top = MARGIN + row * (PANEL_H + 2 * MARGIN) + 20;
    const skews = attribute.groups.map((g) => attribute.exposure.per_group[g] ?? 0);
    const limit = Math.max(0.25, ...skews.map(Math.abs));
    parts.push(
      ...panel(
        MARGIN,
        top,
        `${attribute.name}: mean skew@${result.k} (0 = proportional; NDKL ${attribute.exposure.ndkl.toFixed(3)})`,
        attribute.groups,
        skews,
        -limit,
        limit,
      ),
      ...panel(
        2 * MARGIN + PANEL_W,
        top,
        `${attribute.name}: zero-shot accuracy (gap ${attribute.zero_shot.max_gap.toFixed(3)})`,
        attribute.groups,
        attribute.groups.map((g) => attribute.zero_shot.per_group[g] ?? 0),
        0,
        1,
      ),
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function panel(
  left: number,
  top: number,
  title: string,
  groups: readonly string[],
  values: readonly number[],
  min: number,
  max: number,
): string[] {
  const y = (v: number) => top + PANEL_H - ((v - min) / (max - min)) * PANEL_H;
  const slot = PANEL_W / groups.length;
  const zero = y(Math.max(min, Math.min(max, 0)));
  return [
    `<text x="${left}" y="${top - 6}">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`,
    `<line x1="${left}" x2="${left + PANEL_W}" y1="${zero}" y2="${zero}" stroke="#333"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end">${max.toFixed(2)}</text>`,
    `<text x="${left - 4}" y="${top + PANEL_H}" text-anchor="end">${min.toFixed(2)}</text>`,
    ...groups.flatMap((group, i) => {
      const x = left + i * slot + slot * 0.15;
      const v = values[i];
      const [y0, y1] = [Math.min(y(v), zero), Math.max(y(v), zero)];
      return [
        `<rect x="${x.toFixed(1)}" y="${y0.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${Math.max(1, y1 - y0).toFixed(1)}" fill="${COLOURS[i % COLOURS.length]}"><title>${escapeXml(`${group}: ${v.toFixed(3)}`)}</title></rect>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${top + PANEL_H + 14}" text-anchor="middle">${escapeXml(group)}</text>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${(y0 - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`,
      ];
    }),
  ];
}
