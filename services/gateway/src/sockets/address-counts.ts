/**
 * How many of something each client address holds on this pod (open sockets, live page
 * seats), and in all: the count behind a per-address limit. An address holding none has no
 * entry, so the map never grows with addresses that came and went.
 */
export class AddressCounts {
  private readonly counts = new Map<string, number>();
  private sum = 0;

  of(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  get total(): number {
    return this.sum;
  }

  add(address: string): void {
    this.counts.set(address, this.of(address) + 1);
    this.sum += 1;
  }

  remove(address: string): void {
    const left = this.of(address) - 1;
    if (left > 0) this.counts.set(address, left);
    else this.counts.delete(address);
    this.sum -= 1;
  }
}
