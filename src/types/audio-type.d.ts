// The package ships no types; this is the part xmodal uses.
declare module 'audio-type' {
  /** The container/codec name audio-decode registers a decoder under ('wav', 'mp3', 'flac', 'oga', 'opus', ...). */
  export default function audioType(bytes: Uint8Array): string | undefined;
}
