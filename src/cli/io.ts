// Where CLI commands write: the process's streams, or whatever a caller of `main` injects (tests run the
// program in-process this way). Commands write through `out`/`err`, never to process.stdout directly.

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress bars and live output only on a terminal. */
  readonly isTTY: boolean;
  /** Set by a command that finished with partial failures (e.g. some files not indexed). */
  exitCode?: number;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

let current: CliIo | undefined;

function io(): CliIo {
  current ??= processIo();
  return current;
}

export function out(text: string): void {
  io().stdout(text);
}

export function err(text: string): void {
  io().stderr(text);
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A file name for a line of text output: control characters (a newline, a tab, an escape) escaped as in JSON. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJson(value: unknown): void {
  out(`${JSON.stringify(value)}\n`);
}

export function isInteractive(): boolean {
  return io().isTTY;
}

/** The exit code the run ends with unless an error decides it. */
export function setExitCode(code: number): void {
  io().exitCode = code;
}

/** Runs `work` with commands writing to `target`. */
export async function withIo<T>(target: CliIo, work: () => Promise<T>): Promise<T> {
  const previous = current;
  current = target;
  try {
    return await work();
  } finally {
    current = previous;
  }
}
