// The training images' preprocessing, shared by every renderer so it mirrors the runtime exactly:
// SVGs rasterised by resvg at 2x, then alpha flattened over white and sharp's bicubic ('cubic')
// resize of the shortest edge to S with a centre crop (fit 'cover'), as raw RGB.
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';

export const RENDER = 96; // rasterise at 2x, then let sharp do the runtime's downscale

export function svgToPng(svg) {
  return new Resvg(svg, { font: { loadSystemFonts: false }, fitTo: { mode: 'width', value: RENDER } })
    .render()
    .asPng();
}

export function toRgb(image, size) {
  return sharp(image)
    .flatten({ background: '#ffffff' })
    .resize(size, size, { kernel: 'cubic', fit: 'cover' })
    .removeAlpha()
    .raw()
    .toBuffer();
}
