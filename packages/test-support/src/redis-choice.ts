/**
 * Which Redis the tests use (scripts/test-redis-setup.ts): the first of several sources, in
 * order, that gives one. A source answers undefined when it does not apply here (no Docker
 * engine, no redis-server); one that applies but fails (a Docker engine that answers but
 * cannot pull an image, as on an offline machine: testcontainers' "(HTTP code 500) server
 * error") is not the end of the run: the next source is tried, and one line says why.
 */

export interface FoundRedis {
  readonly url: string;
  readonly teardown: () => Promise<void>;
}

export interface RedisSource {
  /** For the line that says why it was passed over: "testcontainers", "redis-server from PATH". */
  readonly name: string;
  find(): Promise<FoundRedis | undefined>;
}

/** The first source that gives a Redis, or undefined when none does; `say` gets one line per source that failed. */
export async function chooseRedis(sources: readonly RedisSource[], say: (line: string) => void): Promise<FoundRedis | undefined> {
  for (const [index, source] of sources.entries()) {
    let found: FoundRedis | undefined;
    try {
      found = await source.find();
    } catch (error) {
      const next = sources[index + 1]?.name ?? 'nothing else';
      const reason = error instanceof Error ? error.message : String(error);
      say(`test Redis: ${source.name} failed (${reason.split('\n')[0] ?? ''}); trying ${next}`);
      continue;
    }
    if (found !== undefined) return found;
  }
  return undefined;
}
