/**
 * The room's log as readers see it (the API's log route, the live page's status): the shape of
 * Scratch's cloud log, every value text. A set's value is stored with its type
 * (@cloudvars/protocol's stored-value codec); the log shows its text, without a string's mark,
 * which is the store's business and no reader's.
 */
import { storedText } from '@cloudvars/protocol';
import type { LogEntry } from '@cloudvars/rooms';

export function logAsText(entries: readonly LogEntry[]): LogEntry[] {
  return entries.map((entry) => (entry.verb === 'set' ? { ...entry, value: storedText(entry.value) } : entry));
}
