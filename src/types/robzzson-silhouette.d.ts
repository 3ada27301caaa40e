// The package ships no types; this is its whole API.
declare module '@robzzson/silhouette' {
  /** Mean silhouette coefficient (Euclidean) of `data` clustered as `labels` (integers from 0). */
  export default function silhouetteScore(data: number[][], labels: number[]): number;
}
