import { isIPv4, isIPv6 } from 'node:net';

/** The eight groups of an IPv6 address, `::` expanded (so the /48 is the first three). */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  if (tail === undefined) return left;
  const right = tail === '' ? [] : tail.split(':');
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/**
 * An address as it may appear in logs: unchanged, or with the host part cut (IPv4 /24,
 * IPv6 /48) when ANONYMIZE_ADDRESSES is on. Limits always use the full address.
 */
export function addressForLogs(address: string, anonymize: boolean): string {
  if (!anonymize) return address;
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped.split('.').slice(0, 3).concat('0').join('.');
  if (isIPv6(address)) return `${expandIPv6(address).slice(0, 3).join(':')}::`;
  return 'unknown';
}
