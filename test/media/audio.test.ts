import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XmodalError } from '../../src/errors.js';
import { decodeAudio, loadAudio, resample, splitIntoWindows } from '../../src/media/audio.js';
import { constantFlac } from '../helpers/bad-inputs.js';
import { AUDIO } from '../helpers/paths.js';

const manifest = JSON.parse(readFileSync(join(AUDIO, 'manifest.json'), 'utf8'));

/** Frequency of the strongest sinusoid, by counting rising zero crossings over the steady middle. */
function dominantFrequency(samples: Float32Array, sampleRate: number): number {
  const from = Math.floor(samples.length * 0.2);
  const to = Math.floor(samples.length * 0.8);
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = from + 1; i < to; i++) {
    if (samples[i - 1] < 0 && samples[i] >= 0) {
      const exact = i - 1 + samples[i - 1] / (samples[i - 1] - samples[i]);
      if (first < 0) first = exact;
      last = exact;
      crossings++;
    }
  }
  return ((crossings - 1) * sampleRate) / (last - first);
}

function peak(samples: Float32Array): number {
  let m = 0;
  for (let i = Math.floor(samples.length * 0.2); i < samples.length * 0.8; i++)
    m = Math.max(m, Math.abs(samples[i]));
  return m;
}

describe('audio decoding', () => {
  for (const [file, info] of Object.entries(manifest.files) as [string, Record<string, number>][]) {
    if (file.startsWith('long')) continue;
    test(`decodes ${file} to mono at its own rate`, async () => {
      const audio = await decodeAudio(join(AUDIO, file));
      assert.equal(audio.sampleRate, info.sample_rate);
      const seconds = audio.samples.length / audio.sampleRate;
      assert.ok(Math.abs(seconds - manifest.sine.seconds) < 0.1, `${seconds} s`);
      assert.ok(Math.abs(dominantFrequency(audio.samples, audio.sampleRate) - 1000) < 5);
      const amplitude = info.mono_mix_amplitude ?? manifest.sine.amplitude;
      assert.ok(
        Math.abs(peak(audio.samples) - amplitude) < 0.05,
        `peak ${peak(audio.samples)} vs ${amplitude}`,
      );
    });
  }

  test('resampling keeps a 1 kHz tone at 1 kHz and its level', async () => {
    const { samples, sampleRate } = await decodeAudio(join(AUDIO, 'sine-s16.wav'));
    for (const target of [48000, 16000, 22050]) {
      const out = await resample(samples, sampleRate, target);
      assert.ok(Math.abs(out.length - (samples.length * target) / sampleRate) < 64, `length at ${target}`);
      const f = dominantFrequency(out, target);
      assert.ok(Math.abs(f - 1000) < 2, `${f} Hz at ${target}`);
      assert.ok(Math.abs(peak(out) - 0.5) < 0.02);
    }
  });

  test('a clip longer than the window splits into deterministic windows covering all of it', async () => {
    const long = await loadAudio(join(AUDIO, 'long-25s-16k.wav'), 16000);
    const windows = splitIntoWindows(long, 10 * 16000);
    assert.equal(windows.length, 3);
    assert.ok(windows.every((w) => w.length === 160000));
    assert.equal(
      windows[2][windows[2].length - 1],
      long[long.length - 1],
      'the last window ends with the clip',
    );
    assert.equal(dominantFrequency(windows[0], 16000).toFixed(0), '440');
    assert.equal(dominantFrequency(windows[1], 16000).toFixed(0), '1000');
    assert.equal(splitIntoWindows(long.subarray(0, 1000), 160000).length, 1);
  });

  const bad: [string, string][] = [
    ['empty.wav', 'BAD_INPUT'],
    ['corrupt.wav', 'BAD_INPUT'],
    ['no-such.wav', 'FILE_NOT_FOUND'],
  ];
  for (const [file, code] of bad) {
    test(`${file} is refused with ${code}`, async () => {
      await assert.rejects(decodeAudio(join(AUDIO, file)), (error: unknown) => {
        assert.ok(error instanceof XmodalError, String(error));
        assert.equal(error.code, code);
        return true;
      });
    });
  }

  test('a non-audio file is refused, not crashed on', async () => {
    await assert.rejects(
      decodeAudio(join(AUDIO, 'manifest.json')),
      (error: unknown) => error instanceof XmodalError,
    );
  });

  test('clips over the length limit are refused', async () => {
    await assert.rejects(loadAudio(join(AUDIO, 'long-25s-16k.wav'), 16000, { maxSeconds: 20 }), {
      code: 'INPUT_TOO_LARGE',
    });
  });

  test('refusing an over-long clip whose header declares no length keeps none of its samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xmodal-audio-'));
    try {
      const unknown = join(dir, 'an-hour-length-unknown.flac');
      const short = join(dir, 'one-second.flac');
      // Not silence: zero-filled pages the decoder never writes would not show in RSS.
      writeFileSync(unknown, constantFlac(3600, 0, 4096));
      writeFileSync(short, constantFlac(1, 0, 4096));
      const limits = { maxSeconds: 3000 };
      await assert.rejects(decodeAudio(unknown, limits), { code: 'INPUT_TOO_LARGE' });
      // Peak memory of a fresh process that decodes the file: the samples up to the limit are 530 MB (3000 s at
      // 44.1 kHz); what may remain is garbage V8 has not collected yet (it collects after 64 MB of it).
      const peakOf = (file: string) => {
        const script = `
          const { decodeAudio } = await import(${JSON.stringify(new URL('../../src/media/audio.ts', import.meta.url).href)});
          const { peakResidentBytes } = await import(${JSON.stringify(new URL('../helpers/peak-rss.mjs', import.meta.url).href)});
          await decodeAudio(${JSON.stringify(file)}, ${JSON.stringify(limits)}).catch(() => {});
          console.log(peakResidentBytes());`;
        const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
        return Number(out.toString().trim());
      };
      const growth = peakOf(unknown) - peakOf(short);
      assert.ok(growth < 150 * 2 ** 20, `refusal peak +${(growth / 2 ** 20).toFixed(0)} MB over a 1 s clip`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
