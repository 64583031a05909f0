import { isIPv4, isIPv6 } from 'node:net';

/**
 * An address as it may appear in logs: unchanged, or with the host part cut (IPv4 /24,
 * IPv6 /48) when ANONYMIZE_ADDRESSES is on. Limits always use the full address.
 */
export function addressForLogs(address: string, anonymize: boolean): string {
  if (!anonymize) return address;
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped.split('.').slice(0, 3).concat('0').join('.');
  if (isIPv6(address)) {
    const groups = address.split(':').filter((group) => group !== '');
    return `${groups.slice(0, 3).join(':')}::`;
  }
  return 'unknown';
}
