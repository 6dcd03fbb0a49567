/**
 * The refcount table and blocks of a qcow2 image, counted as clusters are placed.
 */
import { CLUSTER_SIZE, MAX_REFCOUNT } from './format.js';

/** References to each host cluster, as the image's refcount blocks will record them. */
export class Refcounts {
  private counts = new Uint16Array(1024);
  private used = 0;

  /** Host clusters up to the last one referenced. */
  get clusters(): number {
    return this.used;
  }

  get(cluster: number): number {
    return cluster < this.used ? (this.counts[cluster] as number) : 0;
  }

  /** One more reference to each host cluster that bytes [offset, offset + length) touch. */
  addRange(offset: number, length: number): void {
    const first = Math.floor(offset / CLUSTER_SIZE);
    const last = Math.floor((offset + length - 1) / CLUSTER_SIZE);
    for (let c = first; c <= last; c++) this.add(c);
  }

  /** @throws RangeError past a 16-bit refcount (thousands of tiny compressed clusters in one host cluster). */
  add(cluster: number): void {
    if (cluster >= this.counts.length) {
      const grown = new Uint16Array(Math.max(cluster + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    const n = (this.counts[cluster] as number) + 1;
    if (n > MAX_REFCOUNT) throw new RangeError(`qcow2: host cluster ${cluster} referenced too often`);
    this.counts[cluster] = n;
    if (cluster >= this.used) this.used = cluster + 1;
  }
}
